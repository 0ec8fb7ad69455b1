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


class StreamEnvelope(msgspec.Struct, gc=False):
    """A combined-stream frame: `{"stream": "btcusdt@kline_1m", "data": {...}}`."""

    stream: str
    data: KlineEvent | ServerShutdown


stream_decoder = msgspec.json.Decoder(StreamEnvelope, strict=False)

# -- REST --------------------------------------------------------------------------------------


class RestKline(msgspec.Struct, array_like=True, gc=False):
    """One row of `GET /api/v3/klines` (an array); the fields after the volume are not read."""

    open_time: int
    open: float
    high: float
    low: float
    close: float
    volume: float


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
