"""Fixtures of the OANDA tests: real EUR/USD candles made fast, and a feed wired to a pipeline."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd
import pytest

from tests.venues.conftest import FeedRecorder
from trading_bot.core.events import MarketDataReceived, QuoteUpdated
from trading_bot.core.model import Candle, Quote
from trading_bot.data.files import iter_candles, load_candles
from trading_bot.testing.fake_binance import relabel
from trading_bot.testing.fake_oanda import FakeOanda
from trading_bot.venues.oanda import OandaFeed, OandaRest

SYMBOL = "EUR/USD"
FIVE_S = 5_000
START = 1_700_000_000_000  # 2023-11-14T22:13:20Z, a multiple of 5 s
# Settings that make a feed react in milliseconds instead of seconds.
FAST = {
    "timeframe": "5s",
    "reconnect_min_s": 0.005,
    "reconnect_max_s": 0.05,
    "settle_s": 0.0,
    "rest_retry_s": 0.01,
    "request_timeout_s": 5.0,
    "stale_after_s": 2.0,
}


@pytest.fixture(scope="session")
def eurusd_1h(shared_data: Any) -> pd.DataFrame:
    return load_candles(shared_data / "oanda-EURUSD-1h.csv.gz")


@pytest.fixture
def fives(eurusd_1h: pd.DataFrame) -> Callable[[int], pd.DataFrame]:
    """The first `n` real hourly EUR/USD candles relabelled as 5 s candles from START (their
    weekend gaps kept, in candles)."""
    return lambda n: relabel(eurusd_1h.iloc[:n], FIVE_S, START)


def candles(frame: pd.DataFrame) -> list[Candle]:
    """The candles the fake makes of `frame`: the same prices, four of them in each."""
    return [c._replace(volume=4.0) for c in iter_candles(frame, SYMBOL, FIVE_S)]


class OandaHarness(FeedRecorder):
    """An OandaFeed publishing into a real hub and DataProcessor; `forming` keeps the last
    forming update of each candle the stream built."""

    def __init__(self, fake: FakeOanda, **settings: Any) -> None:
        super().__init__()
        self.fake = fake
        self.settings = fake.settings(**{**FAST, **settings})
        self.rest = OandaRest(self.settings)
        self.forming: dict[int, Candle] = {}
        self.quotes: list[Quote] = []
        self.hub.subscribe(MarketDataReceived, self._on_forming)
        self.hub.subscribe(QuoteUpdated, lambda e: self.quotes.append(e.quote))
        self.feed = OandaFeed(
            self.hub,
            fake.clock,
            self.rest,
            self.settings,
            lambda symbol: self.processor.last_closed_time(symbol, FIVE_S),
        )

    def _on_forming(self, event: MarketDataReceived) -> None:
        if isinstance(event.data, Candle) and not event.data.closed:
            self.forming[event.data.open_time] = event.data

    def start(self, run: Any = None) -> None:
        super().start(self.feed.run() if run is None else run)

    def resume_before(self, first: Candle) -> None:
        """As after a restart: the candle before `first` was the last one processed."""
        self.processor.restore_last_closed(SYMBOL, FIVE_S, first.open_time - FIVE_S)

    async def stop(self) -> None:
        await super().stop()
        await self.rest.close()
