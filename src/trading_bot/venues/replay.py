"""The replay venue: streams a candle frame through the live (asyncio) path.

Each candle arrives the way a streaming venue sends it: a few partial updates of the forming
candle, then the closing update. The replay drives its own simulated clock to the market time
of what it sends, so a paper run on the replay and a backtest on the same candles agree.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import structlog

from trading_bot.config import ReplaySettings
from trading_bot.core.clock import SimulatedClock, datetime_to_ms
from trading_bot.core.events import FeedEnded, MarketDataReceived
from trading_bot.core.hub import EventHub
from trading_bot.core.model import Candle, Instrument
from trading_bot.core.settings import InstrumentSettings
from trading_bot.data.files import frame_to_arrays, infer_timeframe_ms, iter_candles, load_candles
from trading_bot.data.instruments import instrument_for
from trading_bot.data.synthetic import generate_candles
from trading_bot.data.timeframes import parse_timeframe
from trading_bot.venues.market import LastClosed

log = structlog.get_logger("trading_bot.replay")


class ReplayFeed:
    def __init__(
        self,
        hub: EventHub,
        clock: SimulatedClock,
        frame: pd.DataFrame,
        symbol: str,
        timeframe_ms: int,
        speed: float,
        updates_per_candle: int,
        resume_after: int | None = None,
    ) -> None:
        self.hub = hub
        self.clock = clock
        self.symbol = symbol
        self.timeframe_ms = timeframe_ms
        self.delay = 1 / speed if speed > 0 else 0.0
        self.updates_per_candle = updates_per_candle
        times = frame_to_arrays(frame)[0]
        first = 0 if resume_after is None else int(np.searchsorted(times, resume_after, "right"))
        self.frame = frame.iloc[first:]
        self.delivered = 0

    @property
    def remaining(self) -> int:
        return len(self.frame) - self.delivered

    async def run(self) -> None:
        """Publish every candle, pacing `speed` candles per second; then stay finished."""
        for final in iter_candles(self.frame, self.symbol, self.timeframe_ms):
            t = final.open_time
            for k, update in enumerate(self._partials(final), start=1):
                self.clock.advance_to(t + self.timeframe_ms * k // self.updates_per_candle)
                self.hub.publish(MarketDataReceived(update))
            self.clock.advance_to(final.close_time)
            self.hub.publish(MarketDataReceived(final))
            self.delivered += 1
            await asyncio.sleep(self.delay)
        self.hub.publish(FeedEnded(f"replay {self.symbol}", self.clock.now_ms()))

    def _partials(self, final: Candle) -> Iterator[Candle]:
        """Forming-candle updates that converge on the final candle: the range grows toward the
        final high and low, the close walks from the open toward the final close."""
        n = self.updates_per_candle
        for k in range(1, n):
            f = k / n
            close = final.open + (final.close - final.open) * f
            high = max(final.open, close, final.open + (final.high - final.open) * f)
            low = min(final.open, close, final.open + (final.low - final.open) * f)
            yield Candle(
                final.symbol,
                final.timeframe_ms,
                final.open_time,
                final.open,
                high,
                low,
                close,
                final.volume * f,
                closed=False,
            )


class ReplayMarket:
    """The replay venue as a `Market`: a candle frame (the seeded synthetic sample, or a file)
    streamed at `speed` candles per second on a simulated clock."""

    def __init__(self, settings: ReplaySettings) -> None:
        self.settings = settings
        self.symbol = settings.symbol
        if settings.data == "synthetic":
            self.timeframe_ms = parse_timeframe(settings.timeframe)
            start = datetime_to_ms(settings.start)
            self.frame = generate_candles(settings.candles, self.timeframe_ms, settings.seed, start)
        else:
            self.frame = load_candles(Path(settings.data))
            self.timeframe_ms = infer_timeframe_ms(self.frame)
        self.synthetic = bool(self.frame.attrs.get("synthetic", False))
        self.clock = SimulatedClock()
        self.replay: ReplayFeed | None = None

    async def prepare(self, fallback: InstrumentSettings) -> Instrument:
        return instrument_for(self.symbol, self.frame, fallback)

    async def history(self, until_open_time: int | None, count: int) -> list[Candle]:
        if until_open_time is None:
            return []
        before = self.frame[self.frame.index <= pd.Timestamp(until_open_time, unit="ms", tz="UTC")]
        return list(iter_candles(before.iloc[-count:], self.symbol, self.timeframe_ms))

    def feed(self, hub: EventHub, last_closed: LastClosed) -> Coroutine[Any, Any, None]:
        self.replay = ReplayFeed(
            hub,
            self.clock,
            self.frame,
            self.symbol,
            self.timeframe_ms,
            self.settings.speed,
            self.settings.updates_per_candle,
            last_closed(self.symbol),
        )
        return self.replay.run()

    def describe(self) -> str:
        source = (
            f"[bold yellow]SYNTHETIC sample data[/] (seed {self.settings.seed}; not real prices)"
            if self.synthetic
            else f"file {self.settings.data}"
        )
        remaining = f"; {self.replay.remaining} candles to replay" if self.replay else ""
        return f"the replay venue: {source}{remaining}"

    async def close(self) -> None:
        """Nothing to release: the frame is in memory."""
