"""Numbers at the boundary of the Telegram commands: NaN, infinity, negative, zero, huge and
non-numbers are refused with a reason in the chat, before anything reads the books."""

from __future__ import annotations

from pathlib import Path

from tests.notify.telegram_app import OWNER, controlled
from trading_bot.testing.fake_telegram import FakeTelegram

REFUSALS = {
    "/trades nan": "expected a number, got 'nan'",
    "/trades inf": "expected a number, got 'inf'",
    "/trades 1e309": "expected a number, got '1e309'",
    "/trades 2.5": "expected a number, got '2.5'",
    "/trades -1": "the number of trades must be at least 1",
    "/trades 0": "the number of trades must be at least 1",
    "/trades 99999999999999999999": "at most 100 trades fit in a chat; the API has all",
    "/daily Infinity": "expected a number, got 'Infinity'",
    "/daily -7": "the number of days must be between 1 and 366",
    "/daily 100000": "the number of days must be between 1 and 366",
    "/logs NaN": "expected a number, got 'NaN'",
    "/logs 0": "the number of log lines must be between 1 and 500",
    "/logs " + "9" * 5000: "expected a number, got '99999999999999999999'",  # cut short
}


async def test_impossible_numbers_are_refused_with_a_reason(
    tmp_path: Path, restore_logging: None
) -> None:
    async with FakeTelegram() as fake, controlled(tmp_path, fake, 300, 0) as run:
        for command, reason in REFUSALS.items():
            seen = len(fake.sent(OWNER))
            fake.send_text(OWNER, OWNER, command)
            reply = (await fake.wait_sent(OWNER, seen + 1))[seen]
            assert reply.text == f"⚠️ {reason}", command
        assert not run.bot.dropped  # refused as asked, none failed
