"""A real paper bot on the synthetic replay with its HTTP API served on 127.0.0.1 (a free
port), and an httpx client that talks to it over real HTTP."""

from __future__ import annotations

import asyncio
import contextlib
import io
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr
from rich.console import Console

from tests.waiting import wait_for
from trading_bot.api.server import BotApi
from trading_bot.api.settings import ApiSettings
from trading_bot.app import TradingApp
from trading_bot.config import load_settings
from trading_bot.core.events import Event, FeedEnded, PositionChanged, PositionClosed
from trading_bot.core.hub import Priority
from trading_bot.logs import configure_logging, flush_logs

from ..app.botprocess import write_config

TOKEN = "test-token-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
SECRET_KEY = "binance-key-that-must-never-show"  # configured, unused by the replay
SMA_CROSS = 'name = "sma_cross"\nparams = { fast = 10, slow = 20 }'
HOLD_LONG = f'name = "{Path(__file__).with_name("hold_long.py")}:HoldLong"'


@dataclass
class Served:
    app: TradingApp
    api: BotApi
    client: httpx.AsyncClient  # authorized, based at the server's root
    bot_task: asyncio.Task[int]
    api_task: asyncio.Task[None]
    events: list[Event] = field(default_factory=list)
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    async def until(self, done: Callable[[], bool], timeout: float = 30) -> None:
        await wait_for(done, self.changed, [self.bot_task], timeout)

    def saw(self, kind: type[Event]) -> bool:
        return any(isinstance(e, kind) for e in self.events)


@contextlib.asynccontextmanager
async def serve(
    tmp_path: Path, candles: int, speed: float, strategy: str = SMA_CROSS
) -> AsyncIterator[Served]:
    config = write_config(
        tmp_path / "bot.toml",
        tmp_path,
        candles=candles,
        speed=speed,
        bot=f'health_file = "{tmp_path}/health.json"',
        strategy=strategy,
    )
    env = {"TRADING_BOT_BINANCE__API_KEY": SECRET_KEY, "TRADING_BOT_API__ENABLED": "false"}
    settings = load_settings(config, env)  # the test serves the API itself, below
    configure_logging(settings.logging)  # as the command does: the log file exists
    app = await TradingApp.create(settings, config, Console(file=io.StringIO()))
    api = BotApi(ApiSettings(port=0, token=SecretStr(TOKEN)), app.control)
    url = api.bind()
    api_task = asyncio.create_task(api.serve())
    client = httpx.AsyncClient(base_url=url.removesuffix("/api/v1"), headers=AUTH)
    run = Served(app, api, client, asyncio.create_task(app.run()), api_task)

    def note(event: Event) -> None:
        run.events.append(event)
        run.changed.set()

    for kind in (FeedEnded, PositionChanged, PositionClosed):
        app.pipeline.hub.subscribe(kind, note, Priority.NOTIFY)
    try:
        yield run
    finally:
        await run.client.aclose()
        api_task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await api_task  # what the app does at shutdown
        app.request_stop()
        assert await run.bot_task == 0
        await app.market.close()


@pytest.fixture
async def finished(tmp_path: Path, restore_logging: None) -> AsyncIterator[Served]:
    """A paper run on 600 synthetic candles replayed to the end, still running, all saved."""
    async with serve(tmp_path, candles=600, speed=0) as run:
        await run.until(lambda: run.saw(FeedEnded))
        await run.app._flush()  # what the store-backed routes read
        flush_logs()
        yield run


@pytest.fixture
async def running(tmp_path: Path, restore_logging: None) -> AsyncIterator[Served]:
    """A paper run that goes on for the whole test (400 candles a second)."""
    async with serve(tmp_path, candles=100_000, speed=400) as run:
        yield run


@pytest.fixture
async def holding(tmp_path: Path, restore_logging: None) -> AsyncIterator[Served]:
    """A paper run (400 candles a second) whose strategy holds a long and never exits."""
    async with serve(tmp_path, candles=100_000, speed=400, strategy=HOLD_LONG) as run:
        yield run
