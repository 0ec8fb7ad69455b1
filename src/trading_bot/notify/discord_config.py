"""The `[discord]` configuration section: the webhook notifications go to, and what is sent."""

from __future__ import annotations

from typing import Self

from pydantic import Field, SecretStr, model_validator

from trading_bot.core.secrets import SecretsSection, keyed_error
from trading_bot.notify.messages import Delivery, Kind


class DiscordSettings(SecretsSection):
    """Discord webhook notifications. The webhook URL is a secret (anyone holding it can post
    to the channel): give it by environment (`TRADING_BOT_DISCORD__WEBHOOK_URL`) or as a file
    (`webhook_url_file`), never in the TOML file."""

    enabled: bool = Field(False, description="send notifications to a Discord webhook")
    webhook_url: SecretStr | None = Field(
        None, description="https://discord.com/api/webhooks/<id>/<token>"
    )
    username: str | None = Field(None, description="name shown on the posts (default: webhook's)")
    notifications: dict[Kind, Delivery] = Field(
        default_factory=dict,
        description="per kind on|silent|off (entry, exit, rejected, risk, trading, feed, error, "
        "lifecycle, heartbeat); silent posts carry no push alert",
    )
    max_backlog: int = Field(
        1000, ge=1, description="notifications waiting to be posted before new ones are dropped"
    )
    request_timeout_s: float = Field(10.0, gt=0, description="seconds a post may take")
    retry_min_s: float = Field(1.0, gt=0, description="first wait before retrying a failed post")
    retry_max_s: float = Field(60.0, gt=0, description="longest wait between retries")

    @model_validator(mode="after")
    def _usable(self) -> Self:
        url = self.webhook_url
        if self.enabled and url is None:
            raise keyed_error("webhook_url", "Discord is enabled but has no webhook URL")
        if url is not None and not url.get_secret_value().startswith(("https://", "http://")):
            raise keyed_error("webhook_url", "expected a URL starting with https://")
        return self
