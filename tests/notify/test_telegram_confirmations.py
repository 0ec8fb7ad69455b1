"""Replayed Telegram confirmations: a Yes button works once, for two minutes, and only for the
person who asked. A press after use, after expiry or by someone else changes nothing, however
the books stand when it comes (the exits a command asks for are counted at the hub).

A used button's message has lost its keyboard (the bot edits it), so a replay is what a client
that kept the old callback data sends: a callback query of the same data, pushed raw."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

from tests.notify.telegram_app import OWNER, Controlled, controlled
from trading_bot.notify.telegram_bot import (
    CONFIRM_TTL_S,
    EXPIRED_CONFIRMATION,
    UNKNOWN_CONFIRMATION,
)
from trading_bot.testing.fake_telegram import FakeTelegram
from trading_bot.testing.telegram_shapes import BOT_USER, Chat, SentMessage, user_json

GROUP = -1001234567890
MATE = 5151  # another member the bot obeys in the group
NOT_YOURS = "This confirmation is not yours, or it has expired."
_query_ids = itertools.count(1)


def replay(fake: FakeTelegram, chat_id: int, user_id: int, question: SentMessage, data: str) -> str:
    """A press of `data` on the bot's `question` (shown in `chat_id`), whatever buttons the
    question shows now; the query id."""
    query_id = f"replay-{next(_query_ids)}"
    message: dict[str, Any] = {
        "message_id": question.message_id,
        "from": BOT_USER,
        "chat": Chat(chat_id).json(),
        "date": question.date,
        "text": question.text,
    }
    fake.push_update(
        {
            "callback_query": {
                "id": query_id,
                "from": user_json(user_id),
                "message": message,
                "chat_instance": str(abs(chat_id)),
                "data": data,
            }
        }
    )
    return query_id


async def answered(run: Controlled, query_id: str) -> str | None:
    await run.fake.wait_for(lambda: query_id in run.fake.callback_answers)
    return run.fake.callback_answers[query_id]["text"]


async def ask(
    run: Controlled, chat_id: int, user_id: int, command: str, question: str
) -> tuple[str, SentMessage]:
    """`command` sent and its question shown: the Yes button's data, and the question."""
    seen = len(run.fake.sent(chat_id))
    run.fake.send_text(chat_id, user_id, command)
    message = await run.said(chat_id, question, since=seen)
    [yes] = [b["callback_data"] for b in message.buttons() if b["text"] == "Yes"]
    return str(yes), message


async def command(run: Controlled, text: str, reply: str) -> None:
    seen = len(run.fake.sent(OWNER))
    run.fake.send_text(OWNER, OWNER, text)
    await run.said(OWNER, reply, since=seen)


async def test_a_used_confirmation_replayed_closes_nothing_more(
    tmp_path: Path, restore_logging: None
) -> None:
    async with FakeTelegram() as fake, controlled(tmp_path, fake, 100_000, 400) as run:
        await run.until(run.holding)
        await command(run, "/pause", "Paused")  # the strategy re-enters only when told
        yes, question = await ask(run, OWNER, OWNER, "/closeall", "Close all 1 position(s)")
        fake.press_button(OWNER, OWNER, data=yes, message_id=question.message_id)
        twice = replay(fake, OWNER, OWNER, question, yes)  # pressed again at once
        assert await answered(run, twice) == NOT_YOURS
        await run.until(lambda: not run.holding())
        assert len(run.commanded) == 1

        await command(run, "/resume", "Resumed")
        await run.until(run.holding)  # a new position, which the old Yes must not close
        assert await answered(run, replay(fake, OWNER, OWNER, question, yes)) == NOT_YOURS
        assert len(run.commanded) == 1 and run.holding()
        assert run.bot.dropped[UNKNOWN_CONFIRMATION] == 2


async def test_a_confirmation_pressed_after_two_minutes_is_refused(
    tmp_path: Path, restore_logging: None
) -> None:
    async with FakeTelegram() as fake, controlled(tmp_path, fake, 100_000, 400) as run:
        await run.until(run.holding)
        yes, question = await ask(run, OWNER, OWNER, "/close SYN/USD", "Close SYN/USD at market?")
        run.clock.seconds = CONFIRM_TTL_S + 1
        query_id = fake.press_button(OWNER, OWNER, data=yes, message_id=question.message_id)
        assert await answered(run, query_id) == "Expired: ask again."
        await fake.wait_for(lambda: question.edits == 1)
        assert question.text == "Expired: nothing was done."
        assert await answered(run, replay(fake, OWNER, OWNER, question, yes)) == NOT_YOURS
        assert run.commanded == [] and run.holding()
        assert run.bot.dropped[EXPIRED_CONFIRMATION] == 1
        assert run.bot.dropped[UNKNOWN_CONFIRMATION] == 1

        run.clock.seconds = 0  # one asked now and pressed just in time still works
        yes, question = await ask(run, OWNER, OWNER, "/close SYN/USD", "Close SYN/USD at market?")
        run.clock.seconds = CONFIRM_TTL_S - 5
        fake.press_button(OWNER, OWNER, data=yes, message_id=question.message_id)
        await run.until(lambda: len(run.commanded) == 1)


async def test_only_the_person_who_asked_can_confirm(tmp_path: Path, restore_logging: None) -> None:
    group = {"chat_ids": (OWNER, GROUP), "user_ids": (OWNER, MATE)}
    async with FakeTelegram() as fake, controlled(tmp_path, fake, 100_000, 400, **group) as run:
        await run.until(run.holding)
        await command(run, "/pause", "Paused")
        yes, question = await ask(run, GROUP, OWNER, "/closeall", "Close all 1 position(s)")
        for presser, chat_id, data in [
            (MATE, GROUP, yes),  # another member the bot obeys
            (MATE, GROUP, yes.replace("yes:", "no:")),  # nor may they cancel it
            (OWNER, OWNER, yes),  # the asker, from another chat
        ]:
            assert await answered(run, replay(fake, chat_id, presser, question, data)) == NOT_YOURS
        assert run.commanded == [] and run.bot.refused == 3
        assert question.edits == 0  # still waiting for its asker
        fake.press_button(GROUP, OWNER, data=yes, message_id=question.message_id)
        await run.until(lambda: len(run.commanded) == 1)
