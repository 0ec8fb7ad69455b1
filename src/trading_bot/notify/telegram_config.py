"""The `[telegram]` configuration section: the bot, who it obeys, where it reports, how fast."""

from __future__ import annotations

import re
from typing import Self

from pydantic import Field, SecretStr, field_validator, model_validator

from trading_bot.core.secrets import SecretsSection, keyed_error
from trading_bot.notify.messages import Delivery, Kind

_TOKEN = re.compile(r"^\d+:[A-Za-z0-9_-]+$")


class TelegramSettings(SecretsSection):
    """A Telegram bot that reports to and obeys the configured chats. The token is a secret
    (whoever holds it controls the bot): give it by environment
    (`TRADING_BOT_TELEGRAM__BOT_TOKEN`) or as a file (`bot_token_file`), never in the TOML file."""

    enabled: bool = Field(False, description="run the Telegram bot")
    bot_token: SecretStr | None = Field(None, description="the token @BotFather gave the bot")
    base_url: str = Field(
        "https://api.telegram.org/bot", description="Bot API URL; the token is appended"
    )
    base_file_url: str = Field(
        "https://api.telegram.org/file/bot", description="Bot API file URL; the token is appended"
    )
    chat_ids: tuple[int, ...] = Field(
        (), description="chats the bot obeys and reports to (groups have negative ids)"
    )
    user_ids: tuple[int, ...] = Field(
        (), description="if set, only these users are obeyed, even in an allowed chat"
    )
    notify_chat_ids: tuple[int, ...] | None = Field(
        None, description="chats notifications go to (default: every chat in chat_ids)"
    )
    notifications: dict[Kind, Delivery] = Field(
        default_factory=dict,
        description="per kind on|silent|off (entry, exit, rejected, risk, trading, feed, error, "
        "lifecycle, heartbeat); silent messages make no sound",
    )
    max_backlog: int = Field(
        500, ge=1, description="notifications waiting per chat before new ones are dropped"
    )
    private_interval_s: float = Field(
        1.0, ge=0, description="seconds between messages to one private chat (Telegram: ~1/s)"
    )
    group_interval_s: float = Field(
        3.0, ge=0, description="seconds between messages to one group (Telegram: 20 per minute)"
    )
    retry_min_s: float = Field(1.0, gt=0, description="first wait before retrying a failed send")
    retry_max_s: float = Field(60.0, gt=0, description="longest wait between retries")

    @field_validator("base_url", "base_file_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("https://", "http://")):
            raise ValueError("expected a URL starting with https://")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _usable(self) -> Self:
        if self.bot_token is not None and not _TOKEN.match(self.bot_token.get_secret_value()):
            raise keyed_error("bot_token", "not a bot token (expected <digits>:<letters>)")
        if self.enabled and self.bot_token is None:
            raise keyed_error("bot_token", "Telegram is enabled but has no bot token")
        if self.enabled and not self.chat_ids:
            raise keyed_error(
                "chat_ids", "Telegram is enabled but no chat is allowed; add your chat id"
            )
        return self

    @property
    def notify_chats(self) -> tuple[int, ...]:
        return self.chat_ids if self.notify_chat_ids is None else self.notify_chat_ids
