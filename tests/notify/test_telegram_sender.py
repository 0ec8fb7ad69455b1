"""TelegramSender through real python-telegram-bot against the fake Bot API: order, no
duplicates, flood control, merging, splitting, pacing and silence."""

from __future__ import annotations

import re
from itertools import pairwise

from telegram import Bot

from tests.notify.conftest import (
    CHAT,
    GROUP,
    T0,
    entry_fill,
    rejected,
    running,
    telegram_settings,
)
from trading_bot.core.hub import EventHub
from trading_bot.notify import messages
from trading_bot.notify.messages import Delivery, Kind, Notification
from trading_bot.notify.telegram_sender import TelegramSender
from trading_bot.notify.telegram_text import MESSAGE_MAX, utf16_len
from trading_bot.testing.fake_telegram import FakeTelegram

REASON = re.compile(r"reason number (\d+)")


def reasons(fake: FakeTelegram, chat_id: int = CHAT) -> list[int]:
    """The numbers of the rejections that arrived, in the order they arrived."""
    return [int(n) for m in fake.sent(chat_id) for n in REASON.findall(m.text)]


async def test_flood_control_then_recovery_delivers_everything_in_order_once(
    fake_telegram: FakeTelegram, bot: Bot
) -> None:
    hub = EventHub()
    sender = TelegramSender(hub, bot, telegram_settings(fake_telegram))
    fake_telegram.fail("sendMessage", 2, 429, retry_after=1)
    async with running(sender.run()):
        for n in range(1, 6):
            hub.publish(rejected(n))
        await fake_telegram.wait_for(lambda: len(reasons(fake_telegram)) >= 5)
        for n in range(6, 9):  # more after the flood: sent as they come
            hub.publish(rejected(n))
            await fake_telegram.wait_for(lambda n=n: n in reasons(fake_telegram))
        assert await sender.drain(5.0)
    assert reasons(fake_telegram) == list(range(1, 9))
    statuses = [c.status for c in fake_telegram.calls_of("sendMessage")]
    assert statuses[:2] == [429, 429] and set(statuses[2:]) == {200}
    assert sender.refused == 0 and sender.outboxes[CHAT].dropped == 0


async def test_a_backlog_is_merged_into_few_messages_within_the_limit(
    fake_telegram: FakeTelegram, bot: Bot
) -> None:
    hub = EventHub()
    sender = TelegramSender(hub, bot, telegram_settings(fake_telegram))
    for n in range(1, 201):  # queued before the sender runs: a backlog
        hub.publish(rejected(n))
    async with running(sender.run()):
        await fake_telegram.wait_for(lambda: len(reasons(fake_telegram)) == 200)
    sent = fake_telegram.sent(CHAT)
    assert reasons(fake_telegram) == list(range(1, 201))
    assert 1 < len(sent) < 20
    assert all(utf16_len(m.source) <= MESSAGE_MAX for m in sent)


async def test_a_long_notification_is_split_at_4096_without_breaking_markup(
    fake_telegram: FakeTelegram, bot: Bot
) -> None:
    sender = TelegramSender(None, bot, telegram_settings(fake_telegram))
    words = " ".join(f"w{i}&🟢" for i in range(2500))  # escapes and 2-unit emoji throughout
    lines = tuple(f"line {i}: " + "<x> " * 30 for i in range(100))
    sender.notify(Notification(Kind.ERROR, "Long <one>", T0, lines=(words, *lines)))
    async with running(sender.run()):
        await fake_telegram.wait_for(
            lambda: "line 99" in "".join(m.text for m in fake_telegram.sent(CHAT))
        )
    sent = fake_telegram.sent(CHAT)
    assert len(sent) >= 4
    assert all(utf16_len(m.text) <= MESSAGE_MAX for m in sent)  # the fake parsed every part
    shown = " ".join(m.text for m in sent)
    assert shown.startswith("🔵 Long <one> w0&🟢 w1&🟢")  # the title, then the long line
    assert re.findall(r"w(\d+)&🟢", shown) == [str(i) for i in range(2500)]
    assert re.findall(r"line (\d+):", shown) == [str(i) for i in range(100)]


async def test_silent_kinds_make_no_sound_and_off_kinds_are_not_sent(
    fake_telegram: FakeTelegram, bot: Bot
) -> None:
    settings = telegram_settings(
        fake_telegram, notifications={Kind.REJECTED: Delivery.OFF, Kind.ENTRY: Delivery.SILENT}
    )
    hub = EventHub()
    sender = TelegramSender(hub, bot, settings)
    hub.publish(rejected(1))
    sender.notify(messages.heartbeat(T0, {"Equity": "10 000"}))  # silent by default
    sender.notify(messages.started(T0, "paper"))
    hub.publish(entry_fill(2))
    async with running(sender.run()):
        await fake_telegram.wait_for(lambda: len(fake_telegram.sent(CHAT)) == 3)
    heartbeat, start, entry = fake_telegram.sent(CHAT)
    assert "Heartbeat" in heartbeat.text and "Equity: 10 000" in heartbeat.text
    assert heartbeat.disable_notification
    assert "Bot started (paper)" in start.text and not start.disable_notification
    assert "Entry filled: BTC/USDT" in entry.text and entry.disable_notification
    assert not REASON.search(" ".join(m.text for m in fake_telegram.sent(CHAT)))


async def test_groups_are_paced_slower_than_private_chats(
    fake_telegram: FakeTelegram, bot: Bot
) -> None:
    settings = telegram_settings(
        fake_telegram, chat_ids=(CHAT, GROUP), private_interval_s=0.0, group_interval_s=0.3
    )
    sender = TelegramSender(None, bot, settings)
    async with running(sender.run()):
        for n in range(1, 4):  # one at a time, so nothing is merged
            sender.notify(messages.order_rejected(rejected(n)))
            await fake_telegram.wait_for(lambda n=n: n in reasons(fake_telegram))
        await fake_telegram.wait_for(lambda: len(reasons(fake_telegram, GROUP)) == 3)
    assert reasons(fake_telegram, GROUP) == [1, 2, 3]
    times = [
        c.time for c in fake_telegram.calls_of("sendMessage") if int(c.params["chat_id"]) == GROUP
    ]
    assert all(later - earlier >= 0.29 for earlier, later in pairwise(times))


async def test_server_errors_are_retried_and_the_message_arrives_once(
    fake_telegram: FakeTelegram, bot: Bot
) -> None:
    sender = TelegramSender(None, bot, telegram_settings(fake_telegram))
    fake_telegram.fail("sendMessage", 3, 502)
    sender.notify(messages.order_rejected(rejected(1)))
    async with running(sender.run()):
        assert await sender.drain(5.0)
    assert reasons(fake_telegram) == [1]
    assert [c.status for c in fake_telegram.calls_of("sendMessage")] == [502, 502, 502, 200]


async def test_a_refused_message_is_dropped_and_the_next_one_still_goes(
    fake_telegram: FakeTelegram, bot: Bot
) -> None:
    sender = TelegramSender(None, bot, telegram_settings(fake_telegram))
    fake_telegram.fail("sendMessage", 1, 403)
    sender.notify(messages.order_rejected(rejected(1)))
    async with running(sender.run()):
        assert await sender.drain(5.0)
        sender.notify(messages.order_rejected(rejected(2)))
        assert await sender.drain(5.0)
    assert reasons(fake_telegram) == [2]
    assert sender.refused == 1
