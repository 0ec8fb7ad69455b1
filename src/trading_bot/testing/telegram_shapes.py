"""The Bot API's shapes as the fake Telegram serves them: users, chats, messages the bot sent,
typed request parameters and error answers."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

BOT_ID = 123456789


class ApiError(Exception):
    """An error answer: `error_code`, `description` and optional `parameters`."""

    def __init__(self, code: int, description: str, parameters: dict[str, Any] | None = None):
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters


@dataclass
class Call:
    method: str  # as Telegram names it: getUpdates, sendMessage, ...
    params: dict[str, Any]
    time: float  # time.monotonic() when it arrived
    status: int = 200


@dataclass
class SentMessage:
    """A message the bot sent, as it now stands (edits change it; `edits` counts them)."""

    chat_id: int
    message_id: int
    text: str  # what the user sees: markup applied
    source: str  # what the bot sent
    parse_mode: str | None
    entities: list[dict[str, Any]]
    reply_markup: dict[str, Any] | None
    disable_notification: bool
    date: int
    edits: int = 0

    def buttons(self) -> list[dict[str, Any]]:
        if not self.reply_markup:
            return []
        return [b for row in self.reply_markup.get("inline_keyboard", []) for b in row]


@dataclass(frozen=True)
class Content:
    text: str
    source: str
    parse_mode: str | None
    entities: list[dict[str, Any]]
    markup: dict[str, Any] | None


@dataclass
class Chat:
    id: int
    next_message_id: int = 1
    messages: dict[int, SentMessage] = field(default_factory=dict)
    sent: list[SentMessage] = field(default_factory=list)

    def json(self) -> dict[str, Any]:
        if self.id > 0:
            return {"id": self.id, "type": "private", "first_name": f"User{self.id}"}
        kind = "supergroup" if self.id <= -1_000_000_000_000 else "group"
        return {"id": self.id, "type": kind, "title": f"Group {self.id}"}


def user_json(user_id: int) -> dict[str, Any]:
    return {
        "id": user_id,
        "is_bot": False,
        "first_name": f"User{user_id}",
        "username": f"user{user_id}",
        "language_code": "en",
    }


BOT_USER = {
    "id": BOT_ID,
    "is_bot": True,
    "first_name": "Trading bot",
    "username": "fake_trading_bot",
}


class Params:
    """A request's parameters, typed as the Bot API reads them: form and query values are text
    (objects JSON-encoded), JSON bodies carry them typed."""

    def __init__(self, values: Mapping[str, Any]) -> None:
        self.values = dict(values)

    def text(self, name: str, default: str | None = None) -> str | None:
        value = self.values.get(name)
        return default if value is None else str(value)

    def integer(self, name: str, default: int | None = None) -> int | None:
        value = self.values.get(name)
        if value is None or value == "":
            return default
        try:
            return int(value)
        except (TypeError, ValueError):
            raise ApiError(400, f"Bad Request: invalid {name} specified") from None

    def required_int(self, name: str, missing: str) -> int:
        value = self.integer(name)
        if value is None:
            raise ApiError(400, f"Bad Request: {missing}")
        return value

    def flag(self, name: str) -> bool:
        value = self.values.get(name)
        return value is True or (isinstance(value, str) and value.lower() in ("true", "1"))

    def obj(self, name: str) -> Any:
        value = self.values.get(name)
        if isinstance(value, str):
            try:
                return orjson.loads(value)
            except orjson.JSONDecodeError:
                raise ApiError(400, f"Bad Request: can't parse {name} JSON object") from None
        return value
