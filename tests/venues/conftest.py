"""Fixtures of the venue tests: real candles, a simulated sleep, and a feed wired to a pipeline."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable, Coroutine, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from tests.waiting import wait_for
from trading_bot.core.clock import SimulatedClock
from trading_bot.core.events import (
    CandleDataProcessed,
    Event,
    FeedRestored,
    FeedStale,
    MarketDataReceived,
)
from trading_bot.core.hub import EventHub
from trading_bot.core.model import Candle
from trading_bot.data.files import iter_candles, load_candles
from trading_bot.data.processor import DataProcessor
from trading_bot.testing.fake_binance import FakeBinance, relabel
from trading_bot.venues.binance import BinanceFeed, BinanceRest

SYMBOL = "BTC/USDT"
SECOND = 1_000
START = 1_700_000_000_000  # 2023-11-14T22:13:20Z
# Settings that make a feed react in milliseconds instead of seconds.
FAST = {
    "reconnect_min_s": 0.005,
    "reconnect_max_s": 0.05,
    "connects_per_5m": 300,
    "settle_s": 0.0,
    "rest_retry_s": 0.01,
    "request_timeout_s": 5.0,
    "stale_after_s": 2.0,
}


@pytest.fixture(scope="session")
def btc_5m(shared_data: Path) -> pd.DataFrame:
    return load_candles(shared_data / "binance-BTCUSDT-5m.csv.gz")


@pytest.fixture
def seconds(btc_5m: pd.DataFrame) -> Callable[[int], pd.DataFrame]:
    """The first `n` real 5m candles relabelled as 1s klines from START."""
    return lambda n: relabel(btc_5m.iloc[:n], SECOND, START)


def candles(frame: pd.DataFrame, timeframe_ms: int) -> list[Candle]:
    return list(iter_candles(frame, SYMBOL, timeframe_ms))


class SimSleep:
    """An `asyncio.sleep` for REST clients that moves a simulated clock instead of waiting."""

    def __init__(self, clock: SimulatedClock) -> None:
        self.clock = clock
        self.slept: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.clock.advance_to(self.clock.now_ms() + math.ceil(seconds * 1000))
        await asyncio.sleep(0)


class FeedRecorder:
    """A real EventHub and DataProcessor recording what a feed publishes into them, for any
    venue's feed (`run`, started by `start`).

    `until(predicate)` waits for the predicate without sleeping: every event the hub publishes
    wakes it to look again."""

    def __init__(self) -> None:
        self.hub = EventHub()
        self.processor = DataProcessor(self.hub)
        self.closed: list[Candle] = []
        self.status: list[Event] = []
        self.partials = 0  # forming-candle updates: only the stream sends those
        self._changed = asyncio.Event()
        self.hub.subscribe(CandleDataProcessed, lambda e: self._note(self.closed, e.candle))
        self.hub.subscribe(FeedStale, lambda e: self._note(self.status, e))
        self.hub.subscribe(FeedRestored, lambda e: self._note(self.status, e))
        self.hub.subscribe(MarketDataReceived, self._on_update)
        self._task: asyncio.Task[None] | None = None

    def _note(self, log: list[Any], item: Any) -> None:
        log.append(item)
        self._changed.set()

    def _on_update(self, event: MarketDataReceived) -> None:
        if isinstance(event.data, Candle) and not event.data.closed:
            self.partials += 1
        self._changed.set()

    def start(self, run: Coroutine[Any, Any, None]) -> None:
        self._task = asyncio.create_task(run)
        self._task.add_done_callback(lambda _: self._changed.set())

    async def until(self, predicate: Callable[[], bool], timeout: float = 20.0) -> None:
        assert self._task is not None
        await wait_for(predicate, self._changed, [self._task], timeout)

    def stale_details(self) -> list[str]:
        return [e.detail for e in self.status if isinstance(e, FeedStale)]

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)


class FeedHarness(FeedRecorder):
    """A BinanceFeed publishing into a FeedRecorder's hub and DataProcessor."""

    def __init__(
        self,
        fake: FakeBinance,
        interval: str,
        symbols: Sequence[str] = (SYMBOL,),
        warmup: int = 0,
        **settings: Any,
    ) -> None:
        super().__init__()
        self.fake = fake
        self.settings = fake.settings(**{**FAST, **settings})
        self.rest = BinanceRest(self.settings, fake.clock)
        tf = fake.timeframe_ms
        self.feed = BinanceFeed(
            self.hub,
            fake.clock,
            self.rest,
            self.settings,
            symbols,
            interval,
            lambda symbol: self.processor.last_closed_time(symbol, tf),
            warmup,
        )

    def start(self, run: Coroutine[Any, Any, None] | None = None) -> None:
        super().start(self.feed.run() if run is None else run)

    async def stop(self) -> None:
        await super().stop()
        await self.rest.close()
