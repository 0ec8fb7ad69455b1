"""What the app needs of a market-data venue: its instrument, its clock, history and a feed."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any, Protocol

from trading_bot.core.clock import Clock
from trading_bot.core.hub import EventHub
from trading_bot.core.model import Candle, Instrument
from trading_bot.core.settings import InstrumentSettings

LastClosed = Callable[[str], int | None]


class Market(Protocol):
    symbol: str
    timeframe_ms: int
    synthetic: bool

    @property
    def clock(self) -> Clock:
        """The market's time: simulated for a replay, the wall clock for a live venue."""
        ...

    async def prepare(self, fallback: InstrumentSettings) -> Instrument:
        """Connect if needed and return the instrument's rules (`fallback` where the venue
        publishes none)."""
        ...

    async def history(self, until_open_time: int | None, count: int) -> list[Candle]:
        """Up to `count` closed candles ending with the one opening at `until_open_time` (the
        latest closed ones when None), oldest first: a strategy's warm-up."""
        ...

    def feed(self, hub: EventHub, last_closed: LastClosed) -> Coroutine[Any, Any, None]:
        """The task that publishes market data after the last closed candle processed."""
        ...

    def describe(self) -> str:
        """One line for people: where the candles come from."""
        ...

    async def close(self) -> None: ...
