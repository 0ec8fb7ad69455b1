"""The `[api]` configuration section: where the HTTP API listens and how callers prove who
they are."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, field_validator

from trading_bot.core.secrets import SecretsSection

MIN_TOKEN_LENGTH = 16


class ApiSettings(SecretsSection):
    """The HTTP API and Prometheus metrics. Every `/api` route needs `Authorization: Bearer
    <token>`. The token is a secret: give it by environment (`TRADING_BOT_API__TOKEN`) or as a
    file (`token_file`); with neither, one is generated at the first start, written to
    `generated_token_path` (readable by the bot's user only) and printed once."""

    enabled: bool = Field(True, description="serve the HTTP API and /metrics")
    host: str = Field("127.0.0.1", description="address to listen on; keep it local")
    port: int = Field(8080, ge=0, le=65535, description="TCP port; 0: any free port")
    token: SecretStr | None = Field(None, description="bearer token every /api call must send")
    generated_token_path: Path = Field(
        Path("api_token"), description="where a generated token is kept (mode 0600)"
    )
    metrics_need_token: bool = Field(
        True, description="whether /metrics needs the bearer token too (Prometheus can send it)"
    )
    cors_origins: tuple[str, ...] = Field(
        (), description="browser origins allowed to call the API; empty: CORS off"
    )
    event_backlog: int = Field(
        1000, ge=1, description="events queued per stream client before it loses events"
    )
    shutdown_timeout_s: int = Field(
        2, ge=1, description="seconds open connections get to finish at shutdown"
    )

    @field_validator("token")
    @classmethod
    def _long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < MIN_TOKEN_LENGTH:
            raise ValueError(f"the API token must be at least {MIN_TOKEN_LENGTH} characters")
        return value
