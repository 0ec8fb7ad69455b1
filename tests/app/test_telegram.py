"""The Telegram bot end to end: the real `trading-bot run` command in a paper run, talking to the
fake Telegram Bot API through python-telegram-bot, obeys its chat and nobody else."""

from __future__ import annotations

import asyncio
from pathlib import Path

from trading_bot.storage import Database, StateStore
from trading_bot.testing.fake_telegram import FakeTelegram
from trading_bot.testing.telegram_shapes import SentMessage

from .botprocess import STARTED, BotProcess, write_config

OWNER = 4242  # the chat (and user) the bot obeys
STRANGER = 666


class Chat:
    """What the bot says in one chat, read without sleeping."""

    def __init__(self, fake: FakeTelegram, chat_id: int) -> None:
        self.fake, self.chat_id = fake, chat_id
        self.seen = 0

    async def said(self, needle: str, timeout: float = 20) -> SentMessage:
        """The first message from now on (or since the last match) that contains `needle`."""

        def found() -> SentMessage | None:
            for message in self.fake.sent(self.chat_id)[self.seen :]:
                if needle in message.text:
                    return message
            return None

        await self.fake.wait_for(lambda: found() is not None, timeout)
        message = found()
        assert message is not None
        self.seen = self.fake.sent(self.chat_id).index(message) + 1
        return message

    def command(self, text: str) -> None:
        self.fake.send_text(self.chat_id, self.chat_id, text)


def telegram_env(fake: FakeTelegram) -> dict[str, str]:
    return {
        "TRADING_BOT_TELEGRAM__ENABLED": "true",
        "TRADING_BOT_TELEGRAM__BOT_TOKEN": fake.token,
        "TRADING_BOT_TELEGRAM__BASE_URL": fake.base_url,
        "TRADING_BOT_TELEGRAM__BASE_FILE_URL": fake.base_file_url,
        "TRADING_BOT_TELEGRAM__CHAT_IDS": f"[{OWNER}]",
        "TRADING_BOT_TELEGRAM__PRIVATE_INTERVAL_S": "0",
    }


async def test_the_owner_runs_the_bot_from_telegram_and_strangers_get_nothing(
    tmp_path: Path,
) -> None:
    config = write_config(tmp_path / "bot.toml", tmp_path, candles=100_000, speed=40)
    async with FakeTelegram() as fake:
        bot = await BotProcess.start(config, tmp_path, **telegram_env(fake))
        await bot.wait_for(STARTED)
        owner = Chat(fake, OWNER)
        await owner.said("Bot started (paper)")

        fake.send_text(STRANGER, STRANGER, "/status")
        owner.command("/status")
        status = await owner.said("equity")
        assert "PAPER (SYNTHETIC data)" in status.text and "positions" in status.text
        assert fake.sent(STRANGER) == []  # handled before the owner's: never answered

        await owner.said("Entry filled: SYN/USD")  # a position is open
        owner.command("/pause")
        await owner.said("Paused: no new entries")
        await owner.said("Exit SYN/USD")  # the next cross still closes the position
        await owner.said("trading is paused")  # and its new entry is refused

        owner.command("/positions")
        await owner.said("No open positions")
        owner.command("/closeall")
        question = await owner.said("Close all 0 position(s) at market?")
        fake.press_button(OWNER, OWNER, text="Yes", message_id=question.message_id)
        await fake.wait_for(lambda: fake.sent(OWNER)[owner.seen - 1].edits == 1)
        assert "Closing 0 position(s)" in fake.sent(OWNER)[owner.seen - 1].text

        owner.command("/stop")
        confirm = await owner.said("Stop the bot?")
        fake.press_button(OWNER, STRANGER, text="Yes", message_id=confirm.message_id)
        await fake.wait_for(lambda: _answered(fake, "not yours"))  # refused: it is the owner's
        fake.press_button(OWNER, OWNER, text="Yes", message_id=confirm.message_id)
        await owner.said("Bot stopped")
        async with asyncio.timeout(15):
            assert await bot.proc.wait() == 0
    assert "telegram message from a chat or user not allowed" in bot.output + _log(tmp_path)
    store = StateStore(Database(f"sqlite:///{tmp_path}/bot.sqlite"))
    risk = store.get_state("risk")
    assert risk is not None and risk["paused"] is True  # saved as the owner left it


async def test_closeall_flattens_open_positions_after_confirmation(tmp_path: Path) -> None:
    config = write_config(tmp_path / "bot.toml", tmp_path, candles=100_000, speed=40)
    async with FakeTelegram() as fake:
        bot = await BotProcess.start(config, tmp_path, **telegram_env(fake))
        await bot.wait_for(STARTED)
        owner = Chat(fake, OWNER)
        await owner.said("Entry filled: SYN/USD")
        owner.command("/pause")  # nothing re-enters after the close
        await owner.said("Paused")
        owner.command("/closeall")
        question = await owner.said("Close all 1 position(s) at market?")
        fake.press_button(OWNER, OWNER, text="Yes", message_id=question.message_id)
        await owner.said("by command (telegram")  # the exit notification names the command
        owner.command("/positions")
        await owner.said("No open positions")
        assert await bot.stop() == 0


async def test_another_poller_is_reported_in_one_sentence(tmp_path: Path) -> None:
    config = write_config(tmp_path / "bot.toml", tmp_path, candles=100_000, speed=40)
    async with FakeTelegram() as fake:
        fake.fail("getUpdates", 3, 409)
        env = {**telegram_env(fake), "TRADING_BOT_BOT__HEARTBEAT_INTERVAL_S": "0.5"}
        bot = await BotProcess.start(config, tmp_path, **env)
        await bot.wait_for(STARTED)
        line = await bot.wait_for("409 Conflict")
        assert "stop the other bot instance" in line
        owner = Chat(fake, OWNER)
        owner.command("/version")  # polling goes on once the other poller is gone
        await owner.said("trading-bot ")
        beat = await owner.said("Heartbeat")
        assert "Equity:" in beat.text and "Last candle:" in beat.text and beat.disable_notification
        assert await bot.stop() == 0
    assert bot.output.count("409 Conflict") == 1


def _log(tmp_path: Path) -> str:
    path = tmp_path / "logs" / "bot.jsonl"
    return path.read_text() if path.exists() else ""


def _answered(fake: FakeTelegram, words: str) -> bool:
    return any(words in str(c.params.get("text")) for c in fake.calls_of("answerCallbackQuery"))
