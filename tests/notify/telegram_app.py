"""A paper bot in this process, with its Telegram command bot on the fake Telegram, for tests that
play its users: they read the books directly, and move the clock that times confirmations."""

from __future__ import annotations

import asyncio
import contextlib
import io
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console

from tests.app.botprocess import write_config
from tests.notify.conftest import telegram_settings
from tests.waiting import wait_for
from trading_bot.app import TradingApp
from trading_bot.config import load_settings
from trading_bot.core.events import Event, FeedEnded, OrderRequestGenerated, PositionChanged
from trading_bot.core.hub import Priority
from trading_bot.core.model import OrderRequest
from trading_bot.logs import configure_logging
from trading_bot.notify.telegram_bot import TelegramControlBot
from trading_bot.testing.fake_telegram import FakeTelegram
from trading_bot.testing.telegram_shapes import SentMessage

OWNER = 4242  # a private chat: the chat id is the owner's user id
HOLD_LONG = f'name = "{Path(__file__).parents[1] / "api" / "hold_long.py"}:HoldLong"'


@dataclass
class Later:
    """The clock that times confirmations: monotonic time, plus what the test adds."""

    seconds: float = 0.0

    def __call__(self) -> float:
        return time.monotonic() + self.seconds


@dataclass
class Controlled:
    app: TradingApp
    bot: TelegramControlBot
    fake: FakeTelegram
    clock: Later
    task: asyncio.Task[int]
    commanded: list[OrderRequest] = field(default_factory=list)  # exits asked by a command
    feed_ended: bool = False
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    def holding(self) -> bool:
        return self.app.pipeline.portfolio.open_position_count() == 1

    async def until(self, done: Callable[[], bool], timeout: float = 30) -> None:
        await wait_for(done, self.changed, [self.task], timeout)

    async def said(self, chat_id: int, needle: str, since: int = 0) -> SentMessage:
        """The first message to `chat_id` from index `since` on that contains `needle`."""

        def found() -> SentMessage | None:
            return next((m for m in self.fake.sent(chat_id)[since:] if needle in m.text), None)

        await self.fake.wait_for(lambda: found() is not None)
        message = found()
        assert message is not None
        return message

    def _note(self, event: Event) -> None:
        if isinstance(event, OrderRequestGenerated) and "by command" in event.request.reason:
            self.commanded.append(event.request)
        self.feed_ended |= isinstance(event, FeedEnded)
        self.changed.set()


@contextlib.asynccontextmanager
async def controlled(
    tmp_path: Path, fake: FakeTelegram, candles: int, speed: float, **telegram: Any
) -> AsyncIterator[Controlled]:
    """A paper run of `HoldLong` (long from the first candle, never exits by itself) obeying
    the owner's chat (and whatever `telegram` settings say) on `fake`."""
    config = write_config(
        tmp_path / "bot.toml", tmp_path, candles=candles, speed=speed, strategy=HOLD_LONG
    )
    settings = load_settings(config, {"TRADING_BOT_API__ENABLED": "false"})
    configure_logging(settings.logging)  # as the command does: the log file is read back
    app = await TradingApp.create(settings, config, Console(file=io.StringIO()))
    clock = Later()
    bot = TelegramControlBot(
        telegram_settings(fake, **{"chat_ids": (OWNER,), **telegram}), app.control, clock
    )
    run = Controlled(app, bot, fake, clock, asyncio.create_task(app.run()))
    for kind in (OrderRequestGenerated, PositionChanged, FeedEnded):
        app.pipeline.hub.subscribe(kind, run._note, Priority.NOTIFY)
    await bot.start()
    try:
        yield run
    finally:
        await run.bot.stop()
        app.request_stop()
        assert await run.task == 0
        await app.market.close()
