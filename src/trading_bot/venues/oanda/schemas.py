"""OANDA v20 payloads as typed msgspec structs, parsed once at the edge.

OANDA sends prices and sizes as strings ("1.10345"). Candle prices are analytics floats (the
decoders run with `strict=False`, which converts those strings in C); stream prices and
instrument rules stay exact as `Decimal`, so that a mid price is exactly (bid + ask) / 2 as
OANDA computes it. Times are RFC 3339 strings with nanoseconds (`Accept-Datetime-Format:
RFC3339`), read by `rfc3339_ms`. Fields nobody reads are left out: msgspec skips unknown fields.
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import msgspec

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)


def rfc3339_ms(text: str) -> int:
    """Epoch ms of an OANDA time, "2016-06-22T18:41:29.264030555Z", truncated (never rounded
    into the next millisecond, let alone the next candle)."""
    if len(text) >= 20 and text[-1] == "Z" and text[10] == "T" and text[19] in ".Z":
        ms = _day_ms(text[:10]) + (
            int(text[11:13]) * 3_600_000 + int(text[14:16]) * 60_000 + int(text[17:19]) * 1000
        )
        if text[19] == ".":
            digits = text[20:23].rstrip("Z")
            ms += int(digits.ljust(3, "0")) if digits.isdigit() else 0
        return ms
    value = datetime.fromisoformat(text)  # another offset: rare, and slower
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return (value - _EPOCH) // _MS


@functools.lru_cache(maxsize=64)
def _day_ms(date: str) -> int:
    """Epoch ms of a UTC day's start, "2016-06-22": a stream's prices share days."""
    return (datetime.fromisoformat(date).replace(tzinfo=UTC) - _EPOCH) // _MS


def ms_rfc3339(ms: int) -> str:
    """An epoch ms time as OANDA writes times (nanosecond digits)."""
    seconds, rest = divmod(ms, 1000)
    whole = datetime.fromtimestamp(seconds, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{whole}.{rest:03d}000000Z"


class RejectTransaction(msgspec.Struct, rename="camel"):
    reject_reason: str = ""


class ApiError(msgspec.Struct, rename="camel"):
    """OANDA's error body: `{"errorMessage": "...", "errorCode": "..."}` (the code is optional),
    with the `orderRejectTransaction` when an order was refused."""

    error_message: str = ""
    error_code: str | None = None
    order_reject_transaction: RejectTransaction | None = None


# -- account instruments -------------------------------------------------------------------------


class AccountInstrument(msgspec.Struct, rename="camel"):
    """One tradeable instrument of the account (`GET /v3/accounts/{id}/instruments`)."""

    name: str  # "EUR_USD"
    type: str  # CURRENCY, CFD, METAL
    display_precision: int
    trade_units_precision: int
    minimum_trade_size: Decimal
    pip_location: int = -4
    margin_rate: Decimal | None = None
    display_name: str = ""


class AccountInstruments(msgspec.Struct, rename="camel"):
    instruments: list[AccountInstrument]


# -- candles -------------------------------------------------------------------------------------


class CandleData(msgspec.Struct, gc=False):
    o: float
    h: float
    low: float = msgspec.field(name="l")
    c: float


class Candlestick(msgspec.Struct, gc=False):
    """One candle: only `complete` ones are final; `volume` counts the prices in it."""

    time: str
    volume: int
    complete: bool
    mid: CandleData | None = None
    bid: CandleData | None = None
    ask: CandleData | None = None


class CandlesReply(msgspec.Struct):
    instrument: str
    granularity: str
    candles: list[Candlestick]


candles_decoder = msgspec.json.Decoder(CandlesReply, strict=False)

# -- pricing stream ------------------------------------------------------------------------------


class PriceBucket(msgspec.Struct, gc=False):
    price: Decimal


class StreamPrice(msgspec.Struct, tag="PRICE", tag_field="type", gc=False):
    """A price update. `tradeable` is false while the market is closed (weekends). Empty
    `bids` or `asks` mean no liquidity on that side: no price to build on (OANDA's closeout
    prices are for margin closeouts, not trading, and are not read)."""

    instrument: str
    time: str
    tradeable: bool = True
    bids: list[PriceBucket] = []
    asks: list[PriceBucket] = []

    def bid(self) -> Decimal | None:
        return self.bids[0].price if self.bids else None

    def ask(self) -> Decimal | None:
        return self.asks[0].price if self.asks else None


class StreamHeartbeat(msgspec.Struct, tag="HEARTBEAT", tag_field="type", gc=False):
    """Sent every 5 seconds, whether prices move or not: the connection is alive."""

    time: str


stream_decoder: msgspec.json.Decoder[StreamPrice | StreamHeartbeat] = msgspec.json.Decoder(
    StreamPrice | StreamHeartbeat
)


# -- trading -------------------------------------------------------------------------------------


class ClientExtensions(msgspec.Struct):
    id: str | None = None


class TradeUnits(msgspec.Struct, rename="camel"):
    """A trade opened, reduced or closed by a fill."""

    trade_id: str = msgspec.field(name="tradeID")
    units: Decimal
    price: Decimal | None = None


class FillTransaction(msgspec.Struct, rename="camel"):
    """ORDER_FILL: `units` signed (sell < 0) at `price`, opening or closing trades."""

    id: str
    order_id: str = msgspec.field(name="orderID")
    units: Decimal
    price: Decimal
    time: str = ""
    reason: str = ""
    trade_opened: TradeUnits | None = None
    trade_reduced: TradeUnits | None = None
    trades_closed: list[TradeUnits] = []


class Transaction(msgspec.Struct, rename="camel"):
    """Any other transaction: creation, cancellation (`reason`), rejection."""

    id: str
    type: str = ""
    order_id: str | None = msgspec.field(default=None, name="orderID")
    reason: str = ""


class OrderCreated(msgspec.Struct, rename="camel"):
    """The answer to `POST /v3/accounts/{id}/orders` (201)."""

    order_create_transaction: Transaction
    order_fill_transaction: FillTransaction | None = None
    order_cancel_transaction: Transaction | None = None


class VenueOrder(msgspec.Struct, rename="camel"):
    """An order as OANDA shows it; `state` is PENDING, FILLED, TRIGGERED or CANCELLED."""

    id: str
    type: str
    state: str
    instrument: str | None = None
    units: Decimal | None = None
    price: Decimal | None = None
    trade_id: str | None = msgspec.field(default=None, name="tradeID")  # a dependent order's
    client_extensions: ClientExtensions | None = None
    filling_transaction_id: str | None = msgspec.field(default=None, name="fillingTransactionID")
    trade_opened_id: str | None = msgspec.field(default=None, name="tradeOpenedID")
    cancelling_transaction_id: str | None = msgspec.field(
        default=None, name="cancellingTransactionID"
    )


class OrderReply(msgspec.Struct):
    order: VenueOrder


class OrdersReply(msgspec.Struct):
    orders: list[VenueOrder]


class FillReply(msgspec.Struct):
    transaction: FillTransaction


class TransactionReply(msgspec.Struct):
    """The answer to `GET transactions/{id}`: any transaction, read as the stream's are."""

    transaction: StreamTransaction


class CancelReply(msgspec.Struct, rename="camel"):
    order_cancel_transaction: Transaction


class PositionSide(msgspec.Struct, rename="camel"):
    units: Decimal
    average_price: Decimal | None = None


class VenuePosition(msgspec.Struct):
    """The net position in one instrument, its long and short sides apart."""

    instrument: str
    long: PositionSide
    short: PositionSide


class PositionsReply(msgspec.Struct, rename="camel"):
    """The open positions, as they stand after the transaction `last_transaction_id`."""

    positions: list[VenuePosition]
    last_transaction_id: str = msgspec.field(default="", name="lastTransactionID")


class DependentOrder(msgspec.Struct):
    id: str
    price: Decimal | None = None
    state: str = ""


class VenueTrade(msgspec.Struct, rename="camel"):
    """A trade (OPEN or CLOSED) with the stop-loss and take-profit orders OANDA keeps on it,
    and the fills that closed parts of it."""

    id: str
    instrument: str
    price: Decimal
    current_units: Decimal
    state: str = "OPEN"
    client_extensions: ClientExtensions | None = None
    stop_loss_order: DependentOrder | None = None
    take_profit_order: DependentOrder | None = None
    closing_transaction_ids: list[str] = msgspec.field(
        default_factory=list, name="closingTransactionIDs"
    )


class TradesReply(msgspec.Struct):
    trades: list[VenueTrade]


class TradeReply(msgspec.Struct):
    trade: VenueTrade


class AccountSummary(msgspec.Struct, rename="camel"):
    """The answer to `GET summary`, for the account's latest transaction."""

    last_transaction_id: str = msgspec.field(name="lastTransactionID")


class PositionClosed(msgspec.Struct, rename="camel"):
    """The answer to `PUT positions/{instrument}/close`: the fills of the closing orders."""

    long_order_fill_transaction: FillTransaction | None = None
    short_order_fill_transaction: FillTransaction | None = None


class StreamTransaction(msgspec.Struct, rename="camel"):
    """A line of the transactions stream (or an item of `transactions/sinceid`, or
    `transactions/{id}`): any transaction, read for what a broker needs; a HEARTBEAT has no
    `id`."""

    type: str
    id: str = ""
    time: str = ""
    order_id: str | None = msgspec.field(default=None, name="orderID")
    trade_id: str | None = msgspec.field(default=None, name="tradeID")
    client_order_id: str | None = msgspec.field(default=None, name="clientOrderID")
    instrument: str | None = None
    units: Decimal | None = None
    price: Decimal | None = None
    reason: str = ""
    trade_opened: TradeUnits | None = None
    last_transaction_id: str | None = msgspec.field(default=None, name="lastTransactionID")

    @property
    def heartbeat(self) -> bool:
        return self.type == "HEARTBEAT"


class TransactionsSince(msgspec.Struct, rename="camel"):
    transactions: list[StreamTransaction]
    last_transaction_id: str = msgspec.field(default="", name="lastTransactionID")


transaction_decoder: msgspec.json.Decoder[StreamTransaction] = msgspec.json.Decoder(
    StreamTransaction
)
