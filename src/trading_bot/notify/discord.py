"""Discord notifications through a webhook: embeds, batched, within Discord's limits and rates.

Hub handlers only queue (the outbox); `run()` posts what is pending, several notifications per
post (up to 10 embeds and 6000 characters), one post at a time so order is kept. It waits out a
429's `retry_after` and an empty `X-RateLimit-*` bucket, retries network errors and 5xx with
backoff, and gives up on a post only when Discord refuses it for good (4xx). The webhook URL is a
secret: it is masked in everything logged.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from typing import Any

import aiohttp
import msgspec
import structlog

from trading_bot.core.clock import Clock, WallClock, ms_to_iso
from trading_bot.core.hub import EventHub
from trading_bot.notify import messages
from trading_bot.notify.discord_config import DiscordSettings
from trading_bot.notify.messages import Notification, Outcome
from trading_bot.notify.outbox import Outbox, drain
from trading_bot.redaction import Redactor
from trading_bot.venues.backoff import Backoff

log = structlog.get_logger("trading_bot.notify.discord")

EMBEDS_MAX = 10
MESSAGE_EMBED_CHARS = 6000
TITLE_MAX = 256
DESCRIPTION_MAX = 4096
FIELDS_MAX = 25
FIELD_NAME_MAX = 256
FIELD_VALUE_MAX = 1024
SUPPRESS_NOTIFICATIONS = 1 << 12  # message flag: no push or desktop alert
COLOURS = {Outcome.GOOD: 0x2ECC71, Outcome.BAD: 0xE74C3C, Outcome.NEUTRAL: 0x95A5A6}
ELLIPSIS = "…"
BLANK = "\u200b"  # Discord refuses empty field names and values


class RateLimitAnswer(msgspec.Struct):
    retry_after: float
    message: str = ""
    is_global: bool = msgspec.field(default=False, name="global")


class ErrorAnswer(msgspec.Struct):
    message: str = ""
    code: int = 0


def clip(text: str, limit: int) -> str:
    """`text` cut to `limit` characters, marked with an ellipsis when cut."""
    if len(text) <= limit:
        return text
    return text[: max(0, limit - 1)] + ELLIPSIS if limit > 0 else ""


def embed_chars(embed: Mapping[str, Any]) -> int:
    """What an embed counts toward a message's 6000 characters."""
    fields = embed.get("fields", ())
    return (
        len(embed.get("title", ""))
        + len(embed.get("description", ""))
        + sum(len(f["name"]) + len(f["value"]) for f in fields)
    )


def _fields_chars(fields: list[dict[str, Any]]) -> int:
    return sum(len(f["name"]) + len(f["value"]) for f in fields)


def to_embed(notification: Notification) -> dict[str, Any]:
    """The notification as one embed that fits every per-embed limit and, alone, a message:
    over-long text is cut and trailing fields are dropped, never refused."""
    title = clip(notification.title, TITLE_MAX) or BLANK
    fields: list[dict[str, Any]] = [
        {
            "name": clip(f.name, FIELD_NAME_MAX) or BLANK,
            "value": clip(f.value, FIELD_VALUE_MAX) or BLANK,
            "inline": f.inline,
        }
        for f in notification.fields[:FIELDS_MAX]
    ]
    budget = MESSAGE_EMBED_CHARS - len(title)
    while fields and _fields_chars(fields) > budget:
        fields.pop()
    budget -= _fields_chars(fields)
    embed: dict[str, Any] = {
        "title": title,
        "color": COLOURS[notification.outcome],
        "timestamp": ms_to_iso(notification.time),
    }
    description = clip("\n".join(notification.lines), min(DESCRIPTION_MAX, budget))
    if description:
        embed["description"] = description
    if fields:
        embed["fields"] = fields
    return embed


def batch(pending: list[Notification]) -> tuple[int, list[dict[str, Any]]]:
    """How many of the pending notifications one post takes, and their embeds: at most 10 and
    6000 characters, and all of one loudness (a post is silent or not as a whole)."""
    embeds: list[dict[str, Any]] = []
    chars = 0
    for notification in pending[:EMBEDS_MAX]:
        if notification.silent != pending[0].silent:
            break
        embed = to_embed(notification)
        chars += embed_chars(embed)
        if embeds and chars > MESSAGE_EMBED_CHARS:
            break
        embeds.append(embed)
    return len(embeds), embeds


class DiscordNotifier:
    """Posts notifications to a Discord webhook. Subscribes to `hub` (when given) for the events
    people care about; the app adds its own (start, stop, heartbeat) with `notify()`. Run `run()`
    as a task; `drain()` at shutdown gives what is pending a last chance."""

    def __init__(
        self,
        hub: EventHub | None,
        settings: DiscordSettings,
        session: aiohttp.ClientSession | None = None,
        *,
        clock: Clock | None = None,
    ) -> None:
        if settings.webhook_url is None:
            raise ValueError("DiscordNotifier needs settings with a webhook_url")
        self._url = settings.webhook_url.get_secret_value()
        self._redactor = Redactor([self._url, self._url.rstrip("/").rsplit("/", 1)[-1]])
        self._settings = settings
        self._session = session
        self._owns_session = session is None
        self._backoff = Backoff(settings.retry_min_s, settings.retry_max_s)
        self._not_before = 0.0  # monotonic time the rate limit bucket refills
        self.outbox = Outbox(settings.max_backlog, "discord", settings.notifications)
        self.delivered = 0
        self.refused = 0
        self.posts = 0
        if hub is not None:
            now_ms = (clock or WallClock()).now_ms
            messages.subscribe(hub, self.outbox.put, now_ms, settings.notifications)

    def notify(self, notification: Notification) -> None:
        """Queue a notification (as its kind's delivery setting says). Never blocks."""
        self.outbox.put(notification)

    async def run(self) -> None:
        """Post what is pending, for ever (cancel to stop)."""
        if self._session is None:
            self._session = aiohttp.ClientSession()
        try:
            while True:
                await self.outbox.wait_pending()
                pending = self.outbox.peek(EMBEDS_MAX)
                if not pending:
                    continue
                count, embeds = batch(pending)
                payload: dict[str, Any] = {"embeds": embeds}
                if pending[0].silent:
                    payload["flags"] = SUPPRESS_NOTIFICATIONS
                if self._settings.username:
                    payload["username"] = self._settings.username
                if await self._post(payload):
                    self.delivered += count
                else:
                    self.refused += count
                self.outbox.done(count)
        finally:
            if self._owns_session:
                await self._session.close()
                self._session = None

    async def drain(self, timeout_s: float) -> bool:
        """Wait up to `timeout_s` for everything pending to be posted (at shutdown, with `run()`
        still running). False if some was left."""
        return await drain((self.outbox,), timeout_s)

    async def _post(self, payload: dict[str, Any]) -> bool:
        """Post until Discord takes it (True) or refuses it for good (False)."""
        assert self._session is not None
        timeout = aiohttp.ClientTimeout(total=self._settings.request_timeout_s)
        while True:
            wait = self._not_before - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            try:
                async with self._session.post(
                    self._url, params={"wait": "true"}, json=payload, timeout=timeout
                ) as response:
                    self.posts += 1
                    self._note_bucket(response.headers)
                    body = await response.read()
                    status = response.status
            except (aiohttp.ClientError, TimeoutError) as exc:
                delay = self._backoff.next()
                log.warning(
                    "discord webhook unreachable; retrying",
                    error=self._redactor.text(f"{type(exc).__name__}: {exc}"),
                    retry_in_s=round(delay, 2),
                )
                await asyncio.sleep(delay)
                continue
            if status < 300:
                self._backoff.reset()
                return True
            if status == 429:
                await asyncio.sleep(self._retry_after(body, response.headers))
                continue
            if status >= 500:
                delay = self._backoff.next()
                log.warning("discord failed a post; retrying", status=status, retry_in_s=delay)
                await asyncio.sleep(delay)
                continue
            self._refused(status, body)
            return False

    def _note_bucket(self, headers: Mapping[str, str]) -> None:
        """An empty bucket: nothing more until it refills (`X-RateLimit-Reset-After`)."""
        try:
            remaining = int(headers.get("X-RateLimit-Remaining", "1"))
            reset_after = float(headers.get("X-RateLimit-Reset-After", "0"))
        except ValueError:
            return
        if remaining <= 0:
            self._not_before = time.monotonic() + reset_after

    def _retry_after(self, body: bytes, headers: Mapping[str, str]) -> float:
        try:
            answer = msgspec.json.decode(body, type=RateLimitAnswer)
            seconds = answer.retry_after
            scope = "global" if answer.is_global else "webhook"
        except msgspec.DecodeError:  # a proxy's 429: only the header
            seconds = float(headers.get("Retry-After", "1") or 1)
            scope = "unknown"
        log.warning("discord rate limit; waiting", seconds=seconds, scope=scope)
        return max(seconds, 0.0)

    def _refused(self, status: int, body: bytes) -> None:
        try:
            answer = msgspec.json.decode(body, type=ErrorAnswer)
            detail = f"{answer.code} {answer.message}"
        except msgspec.DecodeError:
            detail = body[:200].decode("utf-8", "replace")
        log.error(
            "discord refused notifications; they are dropped",
            status=status,
            detail=self._redactor.text(detail),
            hint="a 401/404 means the webhook was deleted or its URL is wrong"
            if status in (401, 404)
            else None,
        )
