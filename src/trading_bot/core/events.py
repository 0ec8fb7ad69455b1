"""Typed events. Each event class names its `EventType`, as the original specification does.

Events are facts published to every subscriber. Handlers must be fast, never do I/O and never
mutate an event (they are not frozen only because frozen dataclasses are several times slower
to create, and a backtest creates millions).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import ClassVar

from trading_bot.core.model import (
    Candle,
    Fill,
    Order,
    OrderRequest,
    Position,
    Quote,
    Signal,
    Tick,
    Trade,
)


class EventType(StrEnum):
    MARKET_DATA_RECEIVED = "MARKET_DATA_RECEIVED"
    QUOTE_UPDATED = "QUOTE_UPDATED"
    CANDLE_DATA_PROCESSED = "CANDLE_DATA_PROCESSED"
    DATA_GAP = "DATA_GAP"
    TRADING_SIGNAL_GENERATED = "TRADING_SIGNAL_GENERATED"
    ORDER_REQUEST_GENERATED = "ORDER_REQUEST_GENERATED"
    ORDER_SUBMITTED = "ORDER_SUBMITTED"
    ORDER_ACCEPTED = "ORDER_ACCEPTED"
    ORDER_FILLED = "ORDER_FILLED"
    ORDER_REJECTED = "ORDER_REJECTED"
    ORDER_CANCEL_REQUESTED = "ORDER_CANCEL_REQUESTED"
    ORDER_CANCELED = "ORDER_CANCELED"
    POSITION_CHANGED = "POSITION_CHANGED"
    POSITION_CLOSED = "POSITION_CLOSED"
    EQUITY_UPDATED = "EQUITY_UPDATED"
    RISK_LIMIT_HIT = "RISK_LIMIT_HIT"
    TRADING_PAUSED = "TRADING_PAUSED"
    TRADING_RESUMED = "TRADING_RESUMED"
    FEED_ENDED = "FEED_ENDED"
    FEED_STALE = "FEED_STALE"
    FEED_RESTORED = "FEED_RESTORED"
    HANDLER_FAILED = "HANDLER_FAILED"
    NEWS_RECEIVED = "NEWS_RECEIVED"
    PRICE_ALERT = "PRICE_ALERT"


@dataclass(slots=True)
class Event:
    type: ClassVar[EventType]


@dataclass(slots=True)
class MarketDataReceived(Event):
    """A raw update from a feed: a candle still forming, a closed candle, or a tick."""

    type: ClassVar[EventType] = EventType.MARKET_DATA_RECEIVED
    data: Candle | Tick


@dataclass(slots=True)
class QuoteUpdated(Event):
    """The best bid and ask moved (a venue's order book ticker, where subscribed)."""

    type: ClassVar[EventType] = EventType.QUOTE_UPDATED
    quote: Quote


@dataclass(slots=True)
class CandleDataProcessed(Event):
    """A closed candle, delivered exactly once and in order per symbol and timeframe."""

    type: ClassVar[EventType] = EventType.CANDLE_DATA_PROCESSED
    candle: Candle


@dataclass(slots=True)
class DataGap(Event):
    """Candles are missing between two closed candles (an outage, a weekend)."""

    type: ClassVar[EventType] = EventType.DATA_GAP
    symbol: str
    timeframe_ms: int
    after_open_time: int
    missing: int


@dataclass(slots=True)
class TradingSignalGenerated(Event):
    type: ClassVar[EventType] = EventType.TRADING_SIGNAL_GENERATED
    signal: Signal


@dataclass(slots=True)
class OrderRequestGenerated(Event):
    type: ClassVar[EventType] = EventType.ORDER_REQUEST_GENERATED
    request: OrderRequest


@dataclass(slots=True)
class OrderSubmitted(Event):
    """The execution engine recorded the order and handed it to the broker."""

    type: ClassVar[EventType] = EventType.ORDER_SUBMITTED
    order: Order


@dataclass(slots=True)
class OrderAccepted(Event):
    type: ClassVar[EventType] = EventType.ORDER_ACCEPTED
    client_order_id: str
    time: int
    venue_order_id: str | None = None


@dataclass(slots=True)
class OrderFilled(Event):
    type: ClassVar[EventType] = EventType.ORDER_FILLED
    fill: Fill


@dataclass(slots=True)
class OrderRejected(Event):
    """An order that will not trade, with a reason a person can act on. `client_order_id` is
    None when the risk manager refused a signal before any order existed."""

    type: ClassVar[EventType] = EventType.ORDER_REJECTED
    symbol: str
    reason: str
    time: int
    client_order_id: str | None = None


@dataclass(slots=True)
class OrderCancelRequested(Event):
    """A command to the execution engine: cancel this open order."""

    type: ClassVar[EventType] = EventType.ORDER_CANCEL_REQUESTED
    client_order_id: str
    reason: str
    time: int


@dataclass(slots=True)
class OrderCanceled(Event):
    type: ClassVar[EventType] = EventType.ORDER_CANCELED
    client_order_id: str
    reason: str
    time: int


@dataclass(slots=True)
class PositionChanged(Event):
    type: ClassVar[EventType] = EventType.POSITION_CHANGED
    position: Position
    time: int


@dataclass(slots=True)
class PositionClosed(Event):
    """A round trip ended (fully or in part): the trade with its PnL."""

    type: ClassVar[EventType] = EventType.POSITION_CLOSED
    trade: Trade


@dataclass(slots=True)
class EquityUpdated(Event):
    """Mark-to-market after each closed candle."""

    type: ClassVar[EventType] = EventType.EQUITY_UPDATED
    time: int
    equity: float
    cash: float


@dataclass(slots=True)
class RiskLimitHit(Event):
    type: ClassVar[EventType] = EventType.RISK_LIMIT_HIT
    limit: str
    detail: str
    time: int
    until: int | None = None


@dataclass(slots=True)
class TradingPaused(Event):
    type: ClassVar[EventType] = EventType.TRADING_PAUSED
    reason: str
    time: int


@dataclass(slots=True)
class TradingResumed(Event):
    type: ClassVar[EventType] = EventType.TRADING_RESUMED
    time: int


@dataclass(slots=True)
class FeedEnded(Event):
    """A finite feed (a replay) has delivered its last candle."""

    type: ClassVar[EventType] = EventType.FEED_ENDED
    source: str
    time: int


@dataclass(slots=True)
class FeedStale(Event):
    """A feed went quiet or lost its connection; `detail` says what the feed is doing about it."""

    type: ClassVar[EventType] = EventType.FEED_STALE
    source: str
    detail: str
    time: int


@dataclass(slots=True)
class FeedRestored(Event):
    """A stale feed delivers again (after backfilling what it missed)."""

    type: ClassVar[EventType] = EventType.FEED_RESTORED
    source: str
    time: int


@dataclass(slots=True)
class HandlerFailed(Event):
    """A handler raised: it was isolated and counted; the pipeline went on."""

    type: ClassVar[EventType] = EventType.HANDLER_FAILED
    handler: str
    event_type: EventType
    error: str
