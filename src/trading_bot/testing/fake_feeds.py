"""A fake publisher of documents (RSS and Atom feeds, calendar XML) on 127.0.0.1, for tests.

It serves what a test `put`s, as a real web server does: `ETag` and `Last-Modified` headers,
`304 Not Modified` to a conditional GET of an unchanged document, 404 for anything else. Faults
on demand: `fail(path, status)` answers the next requests with an error status, `hang(path)`
never answers (the client times out). `requests` records every request (path, headers).

    async with FakeFeedServer() as server:
        server.put("/news.rss", rss_bytes, "application/rss+xml")
        settings = NewsSettings(enabled=True, feeds=(server.url("/news.rss"),))
"""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass
from email.utils import formatdate

from aiohttp import web

from trading_bot.testing.loopback import LoopbackServer


@dataclass(frozen=True, slots=True)
class Served:
    body: bytes
    content_type: str
    etag: str
    last_modified: str


@dataclass(frozen=True, slots=True)
class Request:
    path: str
    headers: dict[str, str]
    status: int


class FakeFeedServer(LoopbackServer):
    def __init__(self) -> None:
        super().__init__()
        self.requests: list[Request] = []
        self._documents: dict[str, Served] = {}
        self._failures: dict[str, list[int]] = {}
        self._hanging: set[str] = set()

    def _application(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/{path:.*}", self._serve)
        return app

    def url(self, path: str) -> str:
        return f"{self.origin}{path}"

    def put(self, path: str, body: bytes, content_type: str = "application/xml") -> None:
        """Publish (or replace) the document at `path`."""
        self._hanging.discard(path)
        etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
        self._documents[path] = Served(body, content_type, etag, formatdate(usegmt=True))

    def fail(self, path: str, status: int, times: int = 1) -> None:
        """Answer the next `times` requests for `path` with `status`."""
        self._failures.setdefault(path, []).extend([status] * times)

    def hang(self, path: str) -> None:
        """Never answer requests for `path` (until `put` again)."""
        self._hanging.add(path)

    async def _serve(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        response = await self._answer(request, path)
        self.requests.append(Request(path, dict(request.headers), response.status))
        return response

    async def _answer(self, request: web.Request, path: str) -> web.Response:
        if path in self._hanging:
            await asyncio.Event().wait()  # until the client gives up
        failures = self._failures.get(path)
        if failures:
            return web.Response(status=failures.pop(0), text="injected failure")
        served = self._documents.get(path)
        if served is None:
            return web.Response(status=404, text="not found")
        headers = {"ETag": served.etag, "Last-Modified": served.last_modified}
        if request.headers.get("If-None-Match") == served.etag:
            return web.Response(status=304, headers=headers)
        return web.Response(body=served.body, content_type=served.content_type, headers=headers)
