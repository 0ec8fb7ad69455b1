"""Domain model: instruments, candles, signals, orders, fills, positions and trades.

Analytics use float; what goes to a venue (order prices and quantities, fills) is `Decimal`,
rounded to the instrument's tick size and lot step.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, Decimal
from enum import StrEnum
from typing import NamedTuple

ZERO = Decimal(0)


def to_decimal(value: float | int | str | Decimal) -> Decimal:
    """Exact decimal of what a float prints as (1.1 -> Decimal('1.1'), not its binary value)."""
    if isinstance(value, Decimal):
        return value
    return Decimal(repr(float(value))) if isinstance(value, float) else Decimal(value)


@dataclass(frozen=True, slots=True)
class Instrument:
    """What a venue allows for one symbol: price tick, quantity step and minimum order size;
    `spot` when a buy is paid in full from cash (no borrowing), so the venue refuses one that
    costs more than the cash left."""

    symbol: str
    tick_size: Decimal = Decimal("0.00000001")
    lot_step: Decimal = Decimal("0.00000001")
    min_qty: Decimal = ZERO
    min_notional: Decimal = ZERO
    spot: bool = False

    def round_price(self, price: Decimal) -> Decimal:
        return (price / self.tick_size).quantize(Decimal(1), ROUND_HALF_EVEN) * self.tick_size

    def round_qty(self, qty: Decimal) -> Decimal:
        """Round down to the lot step: never buy more than was sized."""
        return (qty / self.lot_step).quantize(Decimal(1), ROUND_DOWN) * self.lot_step

    def kept_by_fee(self, qty: Decimal, fee_qty: Decimal) -> Decimal:
        """What of a bought `qty` the position never gets when the venue takes `fee_qty` of it
        as its fee: the fee, and the rest under one lot step, which could not be sold."""
        return qty - self.round_qty(qty - fee_qty) if fee_qty else ZERO

    def order_size_problem(self, qty: Decimal, price: Decimal) -> str | None:
        """Why an order of `qty` at `price` is too small for the venue, or None if it is fine."""
        if qty <= ZERO:
            return f"quantity {qty} rounds to zero at lot step {self.lot_step}"
        if qty < self.min_qty:
            return f"quantity {qty} is below the minimum {self.min_qty}"
        if qty * price < self.min_notional:
            return f"notional {qty * price} is below the minimum {self.min_notional}"
        return None


class Candle(NamedTuple):
    """One OHLCV bar. `open_time` is its start in epoch ms; `closed` is False while it forms.

    A NamedTuple rather than a frozen dataclass: immutable too, and ten times cheaper to
    create, which matters when a backtest makes a million of them."""

    symbol: str
    timeframe_ms: int
    open_time: int
    open: float
    high: float
    low: float
    close: float
    volume: float = 0.0
    closed: bool = True

    @property
    def close_time(self) -> int:
        return self.open_time + self.timeframe_ms


class Tick(NamedTuple):
    """One price update (a trade or a quote) for building candles from raw ticks."""

    symbol: str
    time: int
    price: float
    volume: float = 0.0


class Quote(NamedTuple):
    """The best bid and ask: what a market order would pay now, and the spread."""

    symbol: str
    time: int
    bid: float
    ask: float
    bid_qty: float = 0.0
    ask_qty: float = 0.0


class Side(StrEnum):
    BUY = "buy"
    SELL = "sell"

    @property
    def opposite(self) -> Side:
        return Side.SELL if self is Side.BUY else Side.BUY

    @property
    def sign(self) -> int:
        return 1 if self is Side.BUY else -1


class Direction(StrEnum):
    """What a strategy wants to hold: long, short, or nothing."""

    LONG = "long"
    SHORT = "short"
    FLAT = "flat"


@dataclass(frozen=True, slots=True)
class Signal:
    """A strategy's wish: hold `direction` (FLAT: no position and no pending entry).

    `price` is the close it was made at. `entry` asks for a limit entry at that price instead of
    a market entry at the next open; `expires` (epoch ms) cancels the entry if it has not filled
    by the close of the candle reaching that time. `reason` is the short human rationale that
    notifications and reports show. Prices are analytics floats until the risk manager turns
    the signal into orders."""

    symbol: str
    direction: Direction
    time: int
    price: float
    stop_loss: float | None = None
    take_profit: float | None = None
    reason: str = ""
    entry: float | None = None
    expires: int | None = None


class OrderType(StrEnum):
    MARKET = "market"
    LIMIT = "limit"
    STOP = "stop"


class OrderRole(StrEnum):
    """Why an order exists: it opens a position, protects it, takes its profit or closes it."""

    ENTRY = "entry"
    STOP_LOSS = "stop_loss"
    TAKE_PROFIT = "take_profit"
    EXIT = "exit"


class OrderStatus(StrEnum):
    NEW = "new"
    SUBMITTED = "submitted"
    ACCEPTED = "accepted"
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    CANCELED = "canceled"
    REJECTED = "rejected"

    @property
    def is_open(self) -> bool:
        return self in _OPEN_STATUSES


_OPEN_STATUSES = frozenset(
    {OrderStatus.NEW, OrderStatus.SUBMITTED, OrderStatus.ACCEPTED, OrderStatus.PARTIALLY_FILLED}
)


@dataclass(frozen=True, slots=True)
class OrderRequest:
    """What the risk manager asks the execution engine to do: a vetted, rounded order."""

    symbol: str
    side: Side
    type: OrderType
    qty: Decimal
    role: OrderRole
    time: int
    price: Decimal | None = None
    stop_loss: Decimal | None = None
    take_profit: Decimal | None = None
    reason: str = ""
    expires: int | None = None


@dataclass(slots=True)
class Order:
    """An order's life, owned by the execution engine. `client_order_id` is set before sending.
    `price` is the limit price of a LIMIT order and the trigger price of a STOP order; an entry's
    `stop_loss` and `take_profit` are placed as orders of their own as it fills; an order still
    open at the close of the candle reaching `expires` (epoch ms) is canceled."""

    client_order_id: str
    symbol: str
    side: Side
    type: OrderType
    qty: Decimal
    role: OrderRole
    created_time: int
    price: Decimal | None = None
    stop_loss: Decimal | None = None
    take_profit: Decimal | None = None
    expires: int | None = None
    parent_id: str | None = None
    oco_id: str | None = None
    reason: str = ""
    status: OrderStatus = OrderStatus.NEW
    filled_qty: Decimal = ZERO
    avg_fill_price: Decimal = ZERO
    updated_time: int = 0
    venue_order_id: str | None = None

    @property
    def remaining_qty(self) -> Decimal:
        return self.qty - self.filled_qty


@dataclass(frozen=True, slots=True)
class Fill:
    """An execution: part or all of an order traded at one price. `time` is the candle's open
    time when a simulated broker filled at that candle's price.

    `fee_qty` is the part of `qty` that never reaches the position: spot buys pay their
    commission in the asset bought, and what is then left under one lot step cannot be sold.
    The order progresses by `qty`, the position by `held_qty`; `fee` includes the kept part's
    value, so cash moves by exactly `qty * price`."""

    client_order_id: str
    symbol: str
    side: Side
    qty: Decimal
    price: Decimal
    fee: Decimal
    time: int
    role: OrderRole
    reason: str = ""
    fee_qty: Decimal = ZERO

    @property
    def held_qty(self) -> Decimal:
        return self.qty - self.fee_qty


@dataclass(slots=True)
class Position:
    """Net position in one symbol: signed quantity (short < 0) at an average entry price."""

    symbol: str
    qty: Decimal = ZERO
    avg_price: Decimal = ZERO
    opened_time: int = 0
    entry_fees: Decimal = ZERO
    realized_pnl: Decimal = ZERO
    last_price: float = 0.0
    entry_reason: str = ""

    @property
    def is_open(self) -> bool:
        return self.qty != ZERO

    @property
    def direction(self) -> Direction:
        if self.qty > ZERO:
            return Direction.LONG
        return Direction.SHORT if self.qty < ZERO else Direction.FLAT

    @property
    def unrealized_pnl(self) -> float:
        return float(self.qty) * (self.last_price - float(self.avg_price))


@dataclass(frozen=True, slots=True)
class Trade:
    """A closed round trip: the part of a position one reducing fill closed. `fees` holds the
    entry fees of that part and the exit fee; `pnl` is net of both. `entry_reason` is the
    rationale of the signal that opened the position, `exit_reason` what closed it."""

    symbol: str
    side: Direction
    entry_time: int
    exit_time: int
    entry_price: Decimal
    exit_price: Decimal
    qty: Decimal
    pnl: Decimal
    fees: Decimal
    exit_reason: str
    entry_reason: str = ""
