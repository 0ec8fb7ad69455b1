"""Binance spot payloads as typed msgspec structs: parsed once at the edge, attributes after that.

Binance sends prices and quantities as strings ("0.01634790"). Kline structs declare them as
floats and are decoded with `strict=False`, which converts those strings in C; exchange rules stay
exact as `Decimal`. Fields nobody reads are left out: msgspec skips unknown fields.
"""

from __future__ import annotations

from decimal import Decimal

import msgspec

# -- WebSocket market streams ------------------------------------------------------------------

_KLINE_NAMES = {
    "open_time": "t",
    "symbol": "s",
    "interval": "i",
    "open": "o",
    "close": "c",
    "high": "h",
    "low": "l",
    "volume": "v",
    "closed": "x",
}


class StreamKline(msgspec.Struct, gc=False, rename=_KLINE_NAMES):
    """The `k` object of a kline event: one update of a candle; `closed` is Binance's `x` flag."""

    open_time: int
    symbol: str
    interval: str
    open: float
    close: float
    high: float
    low: float
    volume: float
    closed: bool


class KlineEvent(msgspec.Struct, tag="kline", tag_field="e", gc=False, rename={"time": "E"}):
    time: int
    k: StreamKline


class ServerShutdown(msgspec.Struct, tag="serverShutdown", tag_field="e", rename={"time": "E"}):
    """Binance will close the connection soon: connect again now."""

    time: int


class AggTradeEvent(
    msgspec.Struct,
    tag="aggTrade",
    tag_field="e",
    gc=False,
    rename={"symbol": "s", "price": "p", "qty": "q", "trade_time": "T"},
):
    """`<symbol>@aggTrade`: trades at one price from one taker order, aggregated."""

    symbol: str
    price: float
    qty: float
    trade_time: int


class BookTicker(
    msgspec.Struct,
    gc=False,
    rename={"symbol": "s", "bid": "b", "bid_qty": "B", "ask": "a", "ask_qty": "A"},
):
    """`<symbol>@bookTicker`: the best bid and ask. Binance sends no event type or time."""

    symbol: str
    bid: float
    bid_qty: float
    ask: float
    ask_qty: float


class StreamEnvelope(msgspec.Struct, gc=False):
    """A combined-stream frame: `{"stream": "btcusdt@kline_1m", "data": {...}}`."""

    stream: str
    data: KlineEvent | AggTradeEvent | ServerShutdown


class BookTickerEnvelope(msgspec.Struct, gc=False):
    stream: str
    data: BookTicker


stream_decoder = msgspec.json.Decoder(StreamEnvelope, strict=False)
book_ticker_decoder = msgspec.json.Decoder(BookTickerEnvelope, strict=False)

# -- REST --------------------------------------------------------------------------------------


class RestKline(msgspec.Struct, array_like=True, gc=False):
    """One row of `GET /api/v3/klines` (an array); the fields after the volume are not read."""

    open_time: int
    open: float
    high: float
    low: float
    close: float
    volume: float


class Ticker24hr(msgspec.Struct, rename="camel"):
    """The fields read of a FULL 24 h ticker (`GET /api/v3/ticker/24hr`): numbers as strings."""

    symbol: str
    last_price: Decimal
    price_change_percent: Decimal
    quote_volume: Decimal
    bid_price: Decimal
    ask_price: Decimal


class ServerTime(msgspec.Struct, rename="camel"):
    server_time: int


class SymbolFilter(msgspec.Struct, rename="camel"):
    """One of a symbol's filters; only the fields of the filters we apply are read."""

    filter_type: str
    tick_size: Decimal | None = None
    step_size: Decimal | None = None
    min_qty: Decimal | None = None
    min_notional: Decimal | None = None


class SymbolInfo(msgspec.Struct, rename="camel"):
    symbol: str
    status: str
    base_asset: str
    quote_asset: str
    filters: list[SymbolFilter] = []


class RateLimit(msgspec.Struct, rename="camel"):
    rate_limit_type: str
    interval: str
    interval_num: int
    limit: int


class ExchangeInfo(msgspec.Struct, rename="camel"):
    server_time: int
    rate_limits: list[RateLimit] = []
    symbols: list[SymbolInfo] = []

    def weight_limit_per_minute(self) -> int | None:
        """The REQUEST_WEIGHT limit per minute, as Binance announces it."""
        for limit in self.rate_limits:
            if (limit.rate_limit_type, limit.interval, limit.interval_num) == (
                "REQUEST_WEIGHT",
                "MINUTE",
                1,
            ):
                return limit.limit
        return None


class ApiError(msgspec.Struct):
    """Binance's error payload: `{"code": -1121, "msg": "Invalid symbol."}`."""

    code: int
    msg: str


rest_kline_decoder = msgspec.json.Decoder(list[RestKline], strict=False)


# -- trading (SIGNED REST) ---------------------------------------------------------------------
#
# Prices and quantities stay exact: Binance's strings decode straight into `Decimal`.


class OrderFillPart(msgspec.Struct, rename="camel"):
    """One trade in the `fills` of a new order's FULL response."""

    price: Decimal
    qty: Decimal
    commission: Decimal
    commission_asset: str
    trade_id: int


class VenueOrder(msgspec.Struct, rename="camel"):
    """An order as Binance reports it: the answer to a new order (RESULT or FULL), a query, a
    cancel, or an entry of the open orders. A cancel's `client_order_id` is the cancel
    request's own id; the order's is then `orig_client_order_id` (see `our_id`)."""

    symbol: str
    order_id: int
    client_order_id: str
    status: str = "NEW"
    type: str = ""
    side: str = ""
    orig_qty: Decimal = Decimal(0)
    executed_qty: Decimal = Decimal(0)
    cummulative_quote_qty: Decimal = Decimal(0)  # Binance's spelling
    price: Decimal = Decimal(0)
    stop_price: Decimal = Decimal(0)
    time_in_force: str = ""
    order_list_id: int = -1
    orig_client_order_id: str = ""
    transact_time: int | None = None
    time: int | None = None
    update_time: int | None = None
    fills: list[OrderFillPart] = []

    @property
    def our_id(self) -> str:
        return self.orig_client_order_id or self.client_order_id


class OrderListLeg(msgspec.Struct, rename="camel"):
    symbol: str
    order_id: int
    client_order_id: str


class VenueOrderList(msgspec.Struct, rename="camel"):
    """The answer to a new OCO: the list and a report of each of its orders."""

    order_list_id: int
    list_client_order_id: str
    symbol: str
    list_status_type: str = ""
    list_order_status: str = ""
    transaction_time: int = 0
    orders: list[OrderListLeg] = []
    order_reports: list[VenueOrder] = []


class AssetBalance(msgspec.Struct):
    asset: str
    free: Decimal
    locked: Decimal


class AccountInfo(msgspec.Struct, rename="camel"):
    """`GET /api/v3/account`: what the account may do and what it holds."""

    can_trade: bool = True
    can_withdraw: bool = False
    account_type: str = "SPOT"
    update_time: int = 0
    balances: list[AssetBalance] = []

    def balance(self, asset: str) -> AssetBalance:
        for balance in self.balances:
            if balance.asset == asset:
                return balance
        return AssetBalance(asset, Decimal(0), Decimal(0))


class AccountTrade(msgspec.Struct, rename="camel"):
    """One row of `GET /api/v3/myTrades`: a trade of one of the account's orders."""

    symbol: str
    id: int
    order_id: int
    price: Decimal
    qty: Decimal
    commission: Decimal
    commission_asset: str
    time: int
    is_buyer: bool
    order_list_id: int = -1
    quote_qty: Decimal = Decimal(0)
    is_maker: bool = False


class ApiRestrictions(msgspec.Struct, rename="camel"):
    """`GET /sapi/v1/account/apiRestrictions`: what the API key is allowed to do."""

    enable_withdrawals: bool
    enable_reading: bool = True
    enable_spot_and_margin_trading: bool = False
    enable_internal_transfer: bool = False
    permits_universal_transfer: bool = False
    enable_margin: bool = False
    enable_futures: bool = False
    ip_restrict: bool = False
    create_time: int = 0


class ListenKey(msgspec.Struct, rename="camel"):
    listen_key: str


# -- user data stream --------------------------------------------------------------------------

_EXECUTION_REPORT_NAMES = {
    "event_time": "E",
    "symbol": "s",
    "client_order_id": "c",
    "side": "S",
    "order_type": "o",
    "time_in_force": "f",
    "quantity": "q",
    "price": "p",
    "stop_price": "P",
    "order_list_id": "g",
    "orig_client_order_id": "C",
    "execution_type": "x",
    "status": "X",
    "reject_reason": "r",
    "order_id": "i",
    "last_qty": "l",
    "cumulative_qty": "z",
    "last_price": "L",
    "commission": "n",
    "commission_asset": "N",
    "transaction_time": "T",
    "trade_id": "t",
    "cumulative_quote_qty": "Z",
    "expiry_reason": "eR",
}


class ExecutionReport(msgspec.Struct, rename=_EXECUTION_REPORT_NAMES):
    """An order update (`executionReport`). `execution_type` says what happened (NEW, TRADE,
    CANCELED, EXPIRED, REJECTED, TRADE_PREVENTION, ...); a TRADE carries the trade's id, price,
    quantity, commission and time. On a cancel, `client_order_id` is the cancel request's id
    and `orig_client_order_id` the order's (see `our_id`)."""

    event_time: int
    symbol: str
    client_order_id: str
    side: str
    order_type: str
    execution_type: str
    status: str
    order_id: int
    quantity: Decimal
    transaction_time: int
    time_in_force: str = ""
    price: Decimal = Decimal(0)
    stop_price: Decimal = Decimal(0)
    order_list_id: int = -1
    orig_client_order_id: str = ""
    reject_reason: str = "NONE"
    last_qty: Decimal = Decimal(0)
    cumulative_qty: Decimal = Decimal(0)
    last_price: Decimal = Decimal(0)
    commission: Decimal = Decimal(0)
    commission_asset: str | None = None
    trade_id: int = -1
    cumulative_quote_qty: Decimal = Decimal(0)
    expiry_reason: str = ""

    @property
    def our_id(self) -> str:
        return self.orig_client_order_id or self.client_order_id


class EventHead(msgspec.Struct):
    """The type (`e`) of a user data event, read before the rest of it."""

    e: str


class WsApiFrame(msgspec.Struct, rename={"subscription_id": "subscriptionId"}):
    """A WebSocket API frame: the answer to a request (`id`, `status`, `result` or `error`)
    or a user data event of a subscription (`subscriptionId`, `event`). An absent `result` or
    `event` is an empty `Raw`."""

    id: str | int | None = None
    status: int | None = None
    result: msgspec.Raw = msgspec.Raw()
    error: ApiError | None = None
    subscription_id: int | None = None
    event: msgspec.Raw = msgspec.Raw()


class Subscribed(msgspec.Struct, rename="camel"):
    subscription_id: int
