"""A fake Discord webhook on 127.0.0.1 that answers as Discord does, for tests.

`POST /api/webhooks/{id}/{token}` with a JSON body (content, username, embeds) is validated
against Discord's limits (2000 characters of content, 10 embeds, 6000 characters of embed text
in all, title 256, description 4096, 25 fields, field name 256, value 1024, footer 2048, author
256) and answered 204, or 200 with the message object when `?wait=true`; a bad body gets 400
with Discord's `{"code": 50035, "message": "Invalid Form Body", "errors": ...}`. Every answer
carries the `X-RateLimit-Limit/Remaining/Reset/Reset-After/Bucket` headers of a bucket of
`limit` posts per `window_s` seconds; a client that posts on an empty bucket gets 429 with
`{"message", "retry_after", "global": false}` and `Retry-After`, as from Discord.

Faults: `rate_limit(n, retry_after)` answers the next n posts 429; `fail(n, status)` answers
them with a server error; `delay_s` holds every answer. `posts` holds every accepted payload in
order; `wait_posts(n)` waits for n of them without sleeping.

Example::

    async with FakeDiscord() as fake:
        settings = DiscordSettings(enabled=True, webhook_url=fake.webhook_url)
        ...  # run a DiscordNotifier with the settings and publish events
        posts = await fake.wait_posts(1)
        assert posts[0]["embeds"][0]["title"] == "Trading paused"
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from aiohttp import web

from trading_bot.testing.loopback import LoopbackServer

WEBHOOK_ID = "1180000000000000001"
WEBHOOK_TOKEN = "fake-webhook-token"
CONTENT_MAX = 2000
EMBEDS_MAX = 10
EMBED_TOTAL_MAX = 6000
FIELDS_MAX = 25
# The text of an embed, by where it is: each counts toward the 6000 of the whole message.
EMBED_TEXT_MAX = {"title": 256, "description": 4096}
FIELD_MAX = {"name": 256, "value": 1024}
NESTED_MAX = {("footer", "text"): 2048, ("author", "name"): 256}
INVALID_FORM_BODY = 50035


@dataclass
class _Fault:
    status: int
    times: int
    retry_after: float = 0.0


def embed_length(embed: dict[str, Any]) -> int:
    """The characters Discord counts toward a message's 6000: titles, descriptions, field names
    and values, footer texts and author names."""
    total = sum(len(embed.get(key) or "") for key in EMBED_TEXT_MAX)
    total += sum(len(embed.get(a, {}).get(b) or "") for a, b in NESTED_MAX)
    for field in embed.get("fields") or []:
        total += sum(len(field.get(key) or "") for key in FIELD_MAX)
    return total


def _embed_errors(embed: dict[str, Any]) -> dict[str, Any]:
    errors: dict[str, Any] = {}

    def too_long(value: object, limit: int) -> dict[str, Any] | None:
        if not isinstance(value, str):
            return None
        if len(value) > limit:
            message = f"Must be {limit} or fewer in length."
            return {"_errors": [{"code": "BASE_TYPE_MAX_LENGTH", "message": message}]}
        return None

    for key, limit in EMBED_TEXT_MAX.items():
        if error := too_long(embed.get(key), limit):
            errors[key] = error
    for (outer, inner), limit in NESTED_MAX.items():
        if error := too_long(embed.get(outer, {}).get(inner), limit):
            errors[outer] = {inner: error}
    fields = embed.get("fields") or []
    if len(fields) > FIELDS_MAX:
        message = f"Must be {FIELDS_MAX} or fewer in length."
        errors["fields"] = {"_errors": [{"code": "BASE_TYPE_MAX_LENGTH", "message": message}]}
    for i, field in enumerate(fields[:FIELDS_MAX]):
        for key, limit in FIELD_MAX.items():
            value = field.get(key)
            if not value:
                required = {"code": "BASE_TYPE_REQUIRED", "message": "This field is required"}
                errors.setdefault("fields", {}).setdefault(str(i), {})[key] = {
                    "_errors": [required]
                }
            elif error := too_long(value, limit):
                errors.setdefault("fields", {}).setdefault(str(i), {})[key] = error
    return errors


def payload_errors(payload: dict[str, Any]) -> dict[str, Any]:
    """Discord's `errors` object for a webhook payload it would refuse ({} when it is fine)."""
    errors: dict[str, Any] = {}
    content = payload.get("content")
    embeds = payload.get("embeds") or []
    if not content and not embeds:
        message = "Cannot send an empty message"
        errors["content"] = {"_errors": [{"code": "BASE_TYPE_REQUIRED", "message": message}]}
    if isinstance(content, str) and len(content) > CONTENT_MAX:
        message = f"Must be {CONTENT_MAX} or fewer in length."
        errors["content"] = {"_errors": [{"code": "BASE_TYPE_MAX_LENGTH", "message": message}]}
    if len(embeds) > EMBEDS_MAX:
        message = f"Must be {EMBEDS_MAX} or fewer in length."
        errors["embeds"] = {"_errors": [{"code": "BASE_TYPE_MAX_LENGTH", "message": message}]}
    for i, embed in enumerate(embeds[:EMBEDS_MAX]):
        if embed_errors := _embed_errors(embed):
            errors.setdefault("embeds", {})[str(i)] = embed_errors
    if sum(embed_length(e) for e in embeds) > EMBED_TOTAL_MAX:
        message = f"Embed size exceeds maximum size of {EMBED_TOTAL_MAX}"
        errors.setdefault("embeds", {})["_errors"] = [
            {"code": "MAX_EMBED_SIZE_EXCEEDED", "message": message}
        ]
    return errors


class FakeDiscord(LoopbackServer):
    """A Discord webhook endpoint. `limit` posts per `window_s` seconds form its rate limit
    bucket (Discord's webhooks allow about 5 per 2 seconds)."""

    def __init__(self, *, limit: int = 5, window_s: float = 2.0) -> None:
        super().__init__()
        self.limit = limit
        self.window_s = window_s
        self.delay_s = 0.0
        self.posts: list[dict[str, Any]] = []
        self.statuses: list[int] = []  # the status of every post, accepted or not
        self._fault: _Fault | None = None
        self._window_start = 0.0
        self._used = 0
        self._message_id = 1_190_000_000_000_000_000
        self._changed = asyncio.Event()

    @property
    def url(self) -> str:
        return self.origin

    @property
    def webhook_url(self) -> str:
        return f"{self.url}/api/webhooks/{WEBHOOK_ID}/{WEBHOOK_TOKEN}"

    def _application(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/api/webhooks/{id}/{token}", self._execute)
        return app

    def rate_limit(self, times: int, retry_after: float = 0.2) -> None:
        """Answer the next `times` posts with 429 and `retry_after` seconds."""
        self._fault = _Fault(429, times, retry_after)

    def fail(self, times: int, status: int = 502) -> None:
        """Answer the next `times` posts with a server error."""
        self._fault = _Fault(status, times)

    async def wait_posts(self, count: int, timeout: float = 10.0) -> list[dict[str, Any]]:
        """Every accepted payload, once there are at least `count`."""
        await self.wait_for(lambda: len(self.posts) >= count, timeout)
        return self.posts

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 10.0) -> None:
        """Wait until `predicate` holds; it is checked again after every answer."""
        async with asyncio.timeout(timeout):
            while not predicate():
                self._changed.clear()
                await self._changed.wait()

    def embeds(self) -> list[dict[str, Any]]:
        """Every embed accepted, in order, across posts."""
        return [embed for post in self.posts for embed in post.get("embeds") or []]

    def _bucket_headers(self, now: float) -> dict[str, str]:
        if now >= self._window_start + self.window_s:
            self._window_start = now
            self._used = 0
        reset_after = self._window_start + self.window_s - now
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(max(0, self.limit - self._used)),
            "X-RateLimit-Reset": f"{time.time() + reset_after:.3f}",
            "X-RateLimit-Reset-After": f"{reset_after:.3f}",
            "X-RateLimit-Bucket": "fakebucket0000000000000000000000",
        }

    def _too_many(self, retry_after: float, headers: dict[str, str]) -> web.Response:
        body = {"message": "You are being rate limited.", "retry_after": retry_after}
        headers = {
            **headers,
            "Retry-After": str(math.ceil(retry_after)),
            "X-RateLimit-Scope": "user",
        }
        return self._answer(429, {**body, "global": False}, headers)

    def _answer(
        self, status: int, body: dict[str, Any] | None, headers: dict[str, str]
    ) -> web.Response:
        self.statuses.append(status)
        self._changed.set()
        if body is None:
            return web.Response(status=status, headers=headers)
        return web.Response(
            status=status,
            body=orjson.dumps(body),
            content_type="application/json",
            headers=headers,
        )

    async def _execute(self, request: web.Request) -> web.Response:
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        if (request.match_info["id"], request.match_info["token"]) != (WEBHOOK_ID, WEBHOOK_TOKEN):
            return self._answer(404, {"message": "Unknown Webhook", "code": 10015}, {})
        headers = self._bucket_headers(time.monotonic())
        fault = self._fault
        if fault is not None and fault.times > 0:
            fault.times -= 1
            if fault.status == 429:
                return self._too_many(fault.retry_after, headers)
            return self._answer(fault.status, {"message": "Internal Server Error"}, {})
        if self._used >= self.limit:
            return self._too_many(float(headers["X-RateLimit-Reset-After"]), headers)
        self._used += 1
        headers["X-RateLimit-Remaining"] = str(self.limit - self._used)
        try:
            payload = orjson.loads(await request.read())
        except orjson.JSONDecodeError:
            return self._answer(400, {"message": "400: Bad Request", "code": 0}, headers)
        if not isinstance(payload, dict):
            return self._answer(400, {"message": "400: Bad Request", "code": 0}, headers)
        if errors := payload_errors(payload):
            body = {"code": INVALID_FORM_BODY, "message": "Invalid Form Body", "errors": errors}
            return self._answer(400, body, headers)
        self.posts.append(payload)
        if request.query.get("wait", "").lower() != "true":
            return self._answer(204, None, headers)
        return self._answer(200, self._message(payload), headers)

    def _message(self, payload: dict[str, Any]) -> dict[str, Any]:
        self._message_id += 1
        return {
            "id": str(self._message_id),
            "type": 0,
            "content": payload.get("content") or "",
            "channel_id": "1180000000000000002",
            "author": {
                "id": WEBHOOK_ID,
                "username": payload.get("username") or "Trading bot",
                "avatar": None,
                "discriminator": "0000",
                "bot": True,
            },
            "attachments": [],
            "embeds": [{"type": "rich", **e} for e in payload.get("embeds") or []],
            "mentions": [],
            "mention_roles": [],
            "pinned": False,
            "mention_everyone": False,
            "tts": False,
            "timestamp": datetime.now(UTC).isoformat(),
            "edited_timestamp": None,
            "flags": 0,
            "components": [],
            "webhook_id": WEBHOOK_ID,
        }
