"""The fake Telegram through python-telegram-bot v22, unchanged but for its base URL: polling
inside our own loop, commands, inline buttons, edits, flood control and conflicts."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from telegram import Bot, BotCommand, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest, Conflict, InvalidToken, NetworkError, RetryAfter
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, ContextTypes

from tests.notify.conftest import CHAT, GROUP, USER, telegram_bot
from trading_bot.notify.telegram_sender import retry_after_s
from trading_bot.testing.fake_telegram import FakeTelegram

CONFIRM = InlineKeyboardMarkup(
    [
        [
            InlineKeyboardButton("Yes, close all", callback_data="closeall:yes"),
            InlineKeyboardButton("No", callback_data="closeall:no"),
        ]
    ]
)


async def status(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.effective_message is not None
    await update.effective_message.reply_text(
        "<b>Equity</b> 10 000 &amp; 2 positions", parse_mode=ParseMode.HTML
    )


async def closeall(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.effective_message is not None
    await update.effective_message.reply_text("Close every position?", reply_markup=CONFIRM)


async def confirmed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None and query.from_user is not None
    await query.answer("Closing")
    await query.edit_message_text(f"Closed by {query.from_user.id}: {query.data}")


@pytest.fixture
async def polling(fake_telegram: FakeTelegram) -> AsyncIterator[None]:
    """A PTB Application polling the fake inside the test's loop, as the bot runs in ours."""
    app = (
        Application.builder()
        .token(fake_telegram.token)
        .base_url(fake_telegram.base_url)
        .base_file_url(fake_telegram.base_file_url)
        .build()
    )
    app.add_handler(CommandHandler("status", status))
    app.add_handler(CommandHandler("closeall", closeall))
    app.add_handler(CallbackQueryHandler(confirmed, pattern="^closeall:"))
    await app.initialize()
    await app.start()
    assert app.updater is not None
    await app.updater.start_polling(poll_interval=0.0, timeout=2)
    try:
        yield
    finally:
        await app.updater.stop()
        await app.stop()
        await app.shutdown()


async def test_a_command_is_polled_handled_and_answered_in_html(
    fake_telegram: FakeTelegram,
    polling: None,
) -> None:
    fake_telegram.send_text(CHAT, USER, "/status")
    [reply] = await fake_telegram.wait_sent(CHAT, 1)
    assert reply.text == "Equity 10 000 & 2 positions"
    assert reply.entities == [{"type": "bold", "offset": 0, "length": 6}]
    methods = [c.method for c in fake_telegram.calls]
    assert methods[:2] == ["getMe", "deleteWebhook"] and "getUpdates" in methods


async def test_updates_are_confirmed_by_offset_and_never_delivered_twice(
    fake_telegram: FakeTelegram,
    polling: None,
) -> None:
    ids = [fake_telegram.send_text(CHAT, USER, "/status") for _ in range(3)]
    await fake_telegram.wait_sent(CHAT, 3)
    group_reply = fake_telegram.next_sent(GROUP)
    fake_telegram.send_text(GROUP, USER, "/status@fake_trading_bot")
    assert (await group_reply).text == "Equity 10 000 & 2 positions"
    # PTB confirms what it got by asking from past it; nothing is handled twice
    last = ids[-1] + 1

    def confirmed_past_last() -> bool:
        return any(int(c.params.get("offset", 0)) > last for c in fake_telegram.calls)

    await fake_telegram.wait_for(confirmed_past_last)
    assert len(fake_telegram.sent(CHAT)) == 3 and len(fake_telegram.sent(GROUP)) == 1


async def test_an_inline_button_press_is_answered_and_the_message_edited(
    fake_telegram: FakeTelegram,
    polling: None,
) -> None:
    fake_telegram.send_text(CHAT, USER, "/closeall")
    [question] = await fake_telegram.wait_sent(CHAT, 1)
    assert [b["text"] for b in question.buttons()] == ["Yes, close all", "No"]
    query_id = fake_telegram.press_button(CHAT, USER, data="closeall:yes")
    await fake_telegram.wait_for(lambda: fake_telegram.sent(CHAT)[0].edits == 1)
    assert fake_telegram.callback_answers[query_id] == {"text": "Closing", "show_alert": False}
    edited = fake_telegram.sent(CHAT)[0]
    assert edited.text == f"Closed by {USER}: closeall:yes"
    assert edited.reply_markup is None  # an edit without a keyboard removes it, as Telegram does
    with pytest.raises(LookupError):
        fake_telegram.press_button(CHAT, USER, data="closeall:maybe")


async def test_a_second_poller_ends_the_first_with_conflict(
    fake_telegram: FakeTelegram, bot: Bot
) -> None:
    first = asyncio.ensure_future(bot.get_updates(timeout=5))
    await fake_telegram.wait_for(lambda: len(fake_telegram.calls_of("getUpdates")) == 1)
    async with telegram_bot(fake_telegram) as other:
        second = asyncio.ensure_future(other.get_updates(timeout=5))
        with pytest.raises(Conflict, match="only one bot instance"):
            await first
        fake_telegram.send_text(CHAT, USER, "hello")
        [update] = await second
    assert update.message is not None and update.message.text == "hello"


async def test_injected_faults_become_ptbs_own_errors(
    fake_telegram: FakeTelegram, bot: Bot
) -> None:
    fake_telegram.fail("getUpdates", 1, 409)
    with pytest.raises(Conflict):
        await bot.get_updates(timeout=0)
    fake_telegram.fail("sendMessage", 1, 429, retry_after=3)
    with pytest.raises(RetryAfter) as flood:
        await bot.send_message(CHAT, "hi")
    assert retry_after_s(flood.value) == 3
    fake_telegram.fail("sendMessage", 1, 502)
    with pytest.raises(NetworkError):
        await bot.send_message(CHAT, "hi")
    await bot.send_message(CHAT, "hi")
    assert [m.text for m in fake_telegram.sent(CHAT)] == ["hi"]
    assert [c.status for c in fake_telegram.calls_of("sendMessage")] == [429, 502, 200]


async def test_bad_markup_and_oversized_text_are_refused_as_telegram_does(
    fake_telegram: FakeTelegram, bot: Bot
) -> None:
    for bad in ("<b>open", "a & b", "<blink>x</blink>", "<b>x</i>"):
        with pytest.raises(BadRequest, match=r"(?i)can't parse entities"):
            await bot.send_message(CHAT, bad, parse_mode=ParseMode.HTML)
    with pytest.raises(BadRequest, match=r"(?i)message is too long"):
        await bot.send_message(CHAT, "x" * 4097)
    with pytest.raises(BadRequest, match=r"(?i)message is too long"):
        await bot.send_message(CHAT, "🟢" * 2049)  # 4098 UTF-16 units
    await bot.send_message(CHAT, "🟢" * 2048)
    with pytest.raises(BadRequest, match=r"(?i)message to edit not found"):
        await bot.edit_message_text("x", chat_id=CHAT, message_id=999)
    assert len(fake_telegram.sent(CHAT)) == 1


async def test_commands_are_set_and_a_wrong_token_is_unauthorized(
    fake_telegram: FakeTelegram, bot: Bot
) -> None:
    await bot.set_my_commands([BotCommand("status", "equity and positions")])
    assert fake_telegram.commands == [{"command": "status", "description": "equity and positions"}]
    assert [c.command for c in await bot.get_my_commands()] == ["status"]
    stranger = Bot("999:wrong", base_url=fake_telegram.base_url)
    with pytest.raises(InvalidToken):
        await stranger.initialize()
