"""Fetching documents (RSS, calendar XML) by URL for the periodic services, politely.

Conditional GETs (`If-None-Match` / `If-Modified-Since`) spare the publisher a download when
nothing changed (None is returned), documents are capped in size, and failures leave as
`trading_bot.venues.errors` (retryable or not), never as aiohttp's own exceptions. A URL may
carry a key in its query or credentials, so messages only name its host and path.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import aiohttp

from trading_bot import __version__
from trading_bot.venues.errors import InvalidRequest, RateLimited, TemporaryError
from trading_bot.venues.http_session import SessionHolder

USER_AGENT = f"trading-bot/{__version__}"


def describe_url(url: str) -> str:
    """The URL without its credentials, query or fragment: safe to log."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


class Fetcher(SessionHolder):
    """One HTTP session for the services' documents; use as `async with` or call `close()`."""

    def __init__(self, timeout_s: float = 20.0, max_bytes: int = 5_000_000) -> None:
        self.timeout_s = timeout_s
        self.max_bytes = max_bytes
        self._validators: dict[str, dict[str, str]] = {}  # url -> conditional request headers

    def _open_session(self) -> aiohttp.ClientSession:
        timeout = aiohttp.ClientTimeout(total=self.timeout_s)
        return aiohttp.ClientSession(timeout=timeout, headers={"User-Agent": USER_AGENT})

    def forget(self, url: str) -> None:
        """Fetch `url` in full next time: what was received could not be used."""
        self._validators.pop(url, None)

    async def get(self, url: str) -> bytes | None:
        """The document at `url`, or None when it has not changed since the last fetch."""
        where = describe_url(url)
        try:
            async with self.session.get(url, headers=self._validators.get(url)) as reply:
                if reply.status == 304:
                    return None
                if reply.status != 200:
                    raise _status_error(where, reply.status, reply.headers.get("Retry-After"))
                body = await reply.content.read(self.max_bytes + 1)
                validators = {
                    name: reply.headers[key]
                    for key, name in (
                        ("ETag", "If-None-Match"),
                        ("Last-Modified", "If-Modified-Since"),
                    )
                    if key in reply.headers
                }
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise TemporaryError(f"GET {where} failed: {type(exc).__name__}") from None
        if len(body) > self.max_bytes:
            raise InvalidRequest(f"GET {where}: the document is larger than {self.max_bytes} bytes")
        self._validators[url] = validators
        return body


def _status_error(where: str, status: int, retry_after: str | None) -> Exception:
    what = f"GET {where}: HTTP {status}"
    if status == 429:
        try:
            wait = float(retry_after or 60)
        except ValueError:
            wait = 60.0
        return RateLimited(what, retry_after=wait)
    if status >= 500 or status == 408:
        return TemporaryError(what)
    return InvalidRequest(what)
