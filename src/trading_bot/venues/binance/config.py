"""The `[binance]` configuration section: endpoints, and how hard to push against Binance's limits.

Defaults follow Binance's published rules: a stream connection lives at most 24 hours, at most 300
connection attempts per 5 minutes per IP, kline streams push every 1-2 seconds, and the REST
request weight resets every minute.
"""

from __future__ import annotations

from typing import Literal, NamedTuple

from pydantic import Field, SecretStr, ValidationInfo, field_validator

from trading_bot.core.secrets import SecretsSection
from trading_bot.data.timeframes import parse_timeframe


class BinanceUrls(NamedTuple):
    rest_url: str
    ws_url: str
    ws_api_url: str


PRODUCTION = BinanceUrls(
    rest_url="https://api.binance.com",
    ws_url="wss://stream.binance.com:9443",
    ws_api_url="wss://ws-api.binance.com:443/ws-api/v3",
)
TESTNET = BinanceUrls(
    rest_url="https://testnet.binance.vision",
    ws_url="wss://stream.testnet.binance.vision",
    ws_api_url="wss://ws-api.testnet.binance.vision/ws-api/v3",
)
_SCHEMES = {"rest_url": ("http://", "https://"), "ws_url": ("ws://", "wss://")}
_SCHEMES["ws_api_url"] = _SCHEMES["ws_url"]


class BinanceSettings(SecretsSection):
    """Binance spot: where to connect, the API key for live trading, and how to behave when the
    connection or the limits bite. The key and secret are secrets: give them by environment
    (`TRADING_BOT_BINANCE__API_KEY`) or as files (`api_key_file`), never in the TOML file."""

    symbol: str = Field("BTC/USDT", description="the market to trade, BASE/QUOTE")
    timeframe: str = Field("1m", description="candle interval: 1s, 1m, 3m, 5m, 15m, 30m, 1h, ...")
    testnet: bool = Field(False, description="use the spot test network (its URLs by default)")
    rest_url: str = Field(
        "", validate_default=True, description='REST base URL; "": production or testnet'
    )
    ws_url: str = Field(
        "", validate_default=True, description='market stream base URL; "": production or testnet'
    )
    ws_api_url: str = Field(
        "", validate_default=True, description='WebSocket API URL; "": production or testnet'
    )
    api_key: SecretStr | None = Field(None, description="API key; live trading only")
    api_secret: SecretStr | None = Field(None, description="the API key's HMAC secret")
    allow_withdrawals: bool = Field(
        False, description="trade with a key that may withdraw funds (refused otherwise)"
    )
    use_oco: bool = Field(
        True, description="send a position's stop and target as one OCO order list"
    )
    stop_limit_ticks: int = Field(
        20, ge=0, description="ticks between a stop's trigger and its limit price"
    )
    extra_streams: tuple[Literal["bookTicker", "aggTrade"], ...] = Field(
        (), description='streams beside the klines: "bookTicker" (quotes), "aggTrade" (ticks)'
    )
    request_timeout_s: float = Field(10.0, gt=0, description="seconds a REST call may take")
    rest_attempts: int = Field(
        3, ge=1, description="tries of a read that fails temporarily (5xx, network, 429)"
    )
    rest_retry_s: float = Field(
        0.5, ge=0, description="first wait before retrying a failed read; doubles each time"
    )
    recv_window_ms: int = Field(
        5000, ge=1, le=60_000, description="how long a signed request stays valid"
    )
    weight_headroom: float = Field(
        0.8, gt=0, le=1, description="share of the per-minute request weight used before pausing"
    )
    max_rate_wait_s: float = Field(
        120.0, ge=0, description="longest wait for a rate limit before failing the call instead"
    )
    reconnect_min_s: float = Field(0.5, gt=0, description="first wait before reconnecting")
    reconnect_max_s: float = Field(30.0, gt=0, description="longest wait between reconnections")
    connects_per_5m: int = Field(
        100, ge=1, le=300, description="stream connection attempts allowed per 5 minutes"
    )
    connection_max_age_s: float = Field(
        23.5 * 3600, gt=0, lt=24 * 3600, description="reconnect before Binance's 24 h cut-off"
    )
    stale_after_s: float = Field(
        15.0, gt=0, description="seconds without a stream message before the feed is stale"
    )
    failures_before_polling: int = Field(
        3, ge=1, description="failed stream connections before polling REST at each candle close"
    )
    settle_s: float = Field(
        1.0, ge=0, description="seconds after a candle's close before REST's copy is final"
    )

    @field_validator("timeframe")
    @classmethod
    def _known_timeframe(cls, value: str) -> str:
        parse_timeframe(value)  # its ValueError says what is accepted
        return value

    @field_validator("rest_url", "ws_url", "ws_api_url", mode="before")
    @classmethod
    def _network_default(cls, value: object, info: ValidationInfo) -> object:
        """An empty URL means the chosen network's: production, or testnet with `testnet`."""
        if value in ("", None):
            urls = TESTNET if info.data.get("testnet") else PRODUCTION
            return getattr(urls, str(info.field_name))
        if isinstance(value, str):
            schemes = _SCHEMES[str(info.field_name)]
            if not value.startswith(schemes):
                raise ValueError(f"expected a URL starting with {' or '.join(schemes)}")
            return value.rstrip("/")
        return value
