"""What the app needs of a venue: market data (its instrument, its clock, history and a feed)
and, for live trading, a broker with its background tasks and a reconciliation at start."""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Iterable, Sequence
from decimal import Decimal
from typing import Any, Protocol

from trading_bot.core.clock import Clock
from trading_bot.core.hub import EventHub
from trading_bot.core.model import Candle, Instrument, Order, Position
from trading_bot.core.ports import Broker
from trading_bot.core.settings import InstrumentSettings
from trading_bot.venues.intent import Persist

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


class MultiSymbolMarket(Market, Protocol):
    """A market that can serve other symbols than its own (a dynamic universe)."""

    def instrument(self, symbol: str) -> Instrument:
        """`symbol`'s rules; ValueError when the venue does not list it."""
        ...

    async def history(
        self, until_open_time: int | None, count: int, symbol: str | None = None
    ) -> list[Candle]: ...

    def feed(
        self, hub: EventHub, last_closed: LastClosed, symbols: Sequence[str] | None = None
    ) -> Coroutine[Any, Any, None]:
        """One task that publishes the market data of all `symbols` (default: its own)."""
        ...


class Books(Protocol):
    """What the bot's own books say it owns (the portfolio), to compare with the account."""

    cash: Decimal

    def position(self, symbol: str) -> Position | None: ...

    def open_positions(self) -> list[Position]: ...


class LiveVenue(Protocol):
    """A venue that takes real orders. The app calls, in this order: `broker(hub)` (before the
    pipeline is built around it), `adopt` (the database's open orders), `reconcile` (before
    trading: the problems found pause new entries), then runs `tasks()`; `drain()` at shutdown."""

    def broker(self, hub: EventHub, persist: Persist | None = None) -> Broker:
        """The broker for the pipeline on `hub`; it awaits `persist(order)` before an order
        first leaves (see `venues.intent`)."""
        ...

    def adopt(self, orders: Iterable[Order]) -> None: ...

    async def reconcile(self, books: Books, id_prefix: str) -> list[str]: ...

    def tasks(self) -> dict[str, Coroutine[Any, Any, None]]: ...

    async def drain(self) -> None: ...

    def describe(self) -> str: ...
