"""Telegram updates as python-telegram-bot receives them, minus those it cannot read.

PTB reads a getUpdates answer as one batch: a single update it cannot read fails the whole poll
before any offset confirms it, so the same batch comes back on every poll and no command after
it is ever handled. This request, PTB's `get_updates_request`, reads each update on its own
first: one that cannot be read is reported to `drop` and replaced by its bare `update_id`,
which PTB confirms and no handler takes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from telegram import Update
from telegram.request import HTTPXRequest

UNREADABLE = "unreadable"

Drop = Callable[[str, str, object], None]  # (reason, error, the update)


class ReadableUpdates(HTTPXRequest):
    """HTTPXRequest for getUpdates only, with PTB's defaults for it."""

    def __init__(self, drop: Drop) -> None:
        super().__init__()
        self._drop = drop

    def parse_json_payload(self, payload: bytes) -> dict[str, Any]:  # type: ignore[override]
        data = super().parse_json_payload(payload)
        result = data.get("result")
        if isinstance(result, list):
            readable = (self._readable(item) for item in result)
            data["result"] = [item for item in readable if item is not None]
        return data

    def _readable(self, item: object) -> dict[str, Any] | None:
        if not isinstance(item, dict) or not isinstance(item.get("update_id"), int):
            self._drop(UNREADABLE, "no update_id", item)  # nothing to confirm it by
            return None
        try:
            Update.de_json(item, None)
        except Exception as exc:  # whatever the shape, PTB's own reading decides
            self._drop(UNREADABLE, f"{type(exc).__name__}: {exc}", item)
            return {"update_id": item["update_id"]}
        return item
