"""The `[oanda]` configuration section: which OANDA environment, which account, and how patiently
to deal with its streams and limits.

OANDA's pricing stream sends a HEARTBEAT every 5 seconds, so `stale_after_s` (default 12 s: two
heartbeats missed) tells a dead connection from a quiet market. OANDA asks clients to open at
most two new connections per second; the reconnection backoff starts above that.

The token is a secret: give it by environment (`TRADING_BOT_OANDA__TOKEN`) or as a file
(`token_file`), never in the TOML file.
"""

from __future__ import annotations

from typing import Literal, NamedTuple

from pydantic import Field, SecretStr, ValidationInfo, field_validator

from trading_bot.core.secrets import SecretsSection
from trading_bot.venues.oanda.instruments import granularity, venue_name


class OandaUrls(NamedTuple):
    rest_url: str
    stream_url: str


ENVIRONMENTS = {
    "practice": OandaUrls(
        "https://api-fxpractice.oanda.com", "https://stream-fxpractice.oanda.com"
    ),
    "live": OandaUrls("https://api-fxtrade.oanda.com", "https://stream-fxtrade.oanda.com"),
}


class OandaSettings(SecretsSection):
    """OANDA v20: where to connect (practice by default), the account and its token, and how to
    behave when the connection or the limits bite."""

    environment: Literal["practice", "live"] = Field(
        "practice", description="practice (fxTrade Practice) or live (fxTrade): default URLs"
    )
    rest_url: str = Field(
        "", validate_default=True, description='REST base URL; "": the environment\'s'
    )
    stream_url: str = Field(
        "", validate_default=True, description='streaming base URL; "": the environment\'s'
    )
    account_id: str = Field("", description="the v20 account, such as 101-004-1234567-001")
    token: SecretStr | None = Field(None, description="personal access token (Bearer)")
    symbol: str = Field("EUR/USD", description="the instrument to trade, BASE/QUOTE")
    timeframe: str = Field(
        "1m", description="candle interval, an OANDA granularity from 5s (S5) to 1d (D)"
    )
    price: Literal["mid", "bid", "ask"] = Field(
        "mid", description="which price the candles are made of"
    )
    request_timeout_s: float = Field(10.0, gt=0, description="seconds a REST call may take")
    rest_attempts: int = Field(
        3, ge=1, description="tries of a read that fails temporarily (5xx, network, 429)"
    )
    rest_retry_s: float = Field(
        0.5, ge=0, description="first wait before retrying a failed read; doubles each time"
    )
    reconnect_min_s: float = Field(
        1.0, gt=0, description="first wait before reconnecting (OANDA asks for <= 2 per second)"
    )
    reconnect_max_s: float = Field(30.0, gt=0, description="longest wait between reconnections")
    stale_after_s: float = Field(
        12.0, gt=0, description="seconds without a price or heartbeat before the stream is stale"
    )
    settle_s: float = Field(
        0.5, ge=0, description="seconds after a candle's close before asking REST for it"
    )

    @field_validator("symbol")
    @classmethod
    def _base_quote(cls, value: str) -> str:
        venue_name(value)  # its ValueError shows how to write it
        return value

    @field_validator("timeframe")
    @classmethod
    def _oanda_granularity(cls, value: str) -> str:
        granularity(value)  # its ValueError lists what OANDA has
        return value

    @field_validator("rest_url", "stream_url", mode="before")
    @classmethod
    def _environment_default(cls, value: object, info: ValidationInfo) -> object:
        """An empty URL means the chosen environment's."""
        if value in ("", None):
            urls = ENVIRONMENTS[str(info.data.get("environment", "practice"))]
            return getattr(urls, str(info.field_name))
        if isinstance(value, str):
            if not value.startswith(("http://", "https://")):
                raise ValueError("expected a URL starting with http:// or https://")
            return value.rstrip("/")
        return value
