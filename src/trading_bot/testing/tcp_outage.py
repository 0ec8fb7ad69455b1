"""A TCP relay on 127.0.0.1 that can go down: put it in front of a fake server (Telegram, Discord,
a venue) and the client sees the server unreachable, which no HTTP status can show.

While down nothing listens on its port, so new connections are refused, and the connections
open through it are reset; `up()` listens on the same port again. Bytes pass unchanged.

    async with FakeDiscord() as discord, TcpOutage(discord.url) as relay:
        url = relay.url + "/api/webhooks/..."  # give the client the relay's address
        relay.down()  # connection refused, open connections reset
        await relay.up()
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Self
from urllib.parse import urlsplit

CHUNK = 65_536


class TcpOutage:
    def __init__(self, target_url: str) -> None:
        target = urlsplit(target_url)
        if target.hostname is None or target.port is None:
            raise ValueError(f"expected a URL with a host and a port, got {target_url!r}")
        self._target = (target.hostname, target.port)
        self._scheme = target.scheme or "http"
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self.port = 0
        self.outages = 0  # times it went down
        self.connections = 0  # connections relayed

    @property
    def url(self) -> str:
        return f"{self._scheme}://127.0.0.1:{self.port}"

    @property
    def is_up(self) -> bool:
        return self._server is not None

    async def __aenter__(self) -> Self:
        await self.up()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self.down()

    async def up(self) -> None:
        """Listen (again, on the same port once it has one)."""
        if self._server is None:
            self._server = await asyncio.start_server(self._relay, "127.0.0.1", self.port)
            self.port = self._server.sockets[0].getsockname()[1]

    def down(self) -> None:
        """Stop listening and reset every connection open through the relay."""
        if self._server is None:
            return
        self._server.close()
        self._server = None
        self.outages += 1
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(*self._target)
        except OSError:
            writer.transport.abort()
            return
        pair = {writer, upstream_writer}
        if not self.is_up:  # went down while this one was connecting
            for w in pair:
                w.transport.abort()
            return
        self.connections += 1
        self._writers |= pair
        try:
            await asyncio.gather(_pipe(reader, upstream_writer), _pipe(upstream_reader, writer))
        finally:
            self._writers -= pair
            for w in pair:
                w.transport.abort()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Copy one way until the sender ends; then half-close, as a TCP peer would."""
    with contextlib.suppress(ConnectionError):
        while data := await reader.read(CHUNK):
            writer.write(data)
            await writer.drain()
        if writer.can_write_eof() and not writer.is_closing():
            writer.write_eof()
