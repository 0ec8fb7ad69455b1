"""OANDA's streams: chunked newline-delimited JSON over one long HTTP response.

`NdjsonStream.connect()` opens one of them (one attempt): the pricing stream
(`GET /v3/accounts/{id}/pricing/stream?instruments=EUR_USD`, PRICE and HEARTBEAT lines) or the
transactions stream (`GET /v3/accounts/{id}/transactions/stream`, transactions and HEARTBEAT
lines). The `StreamConnection` it returns yields typed messages until the connection ends, and
then says why in `end`: lost, or silent (no line for `stale_after_s`, while OANDA sends a
heartbeat every 5 s). Malformed lines are dropped, counted by reason and logged, never raised.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable, Mapping
from enum import StrEnum
from typing import Generic, TypeVar

import aiohttp
import msgspec
import structlog

from trading_bot.venues.errors import TemporaryError
from trading_bot.venues.oanda.config import OandaSettings
from trading_bot.venues.oanda.rest import error_of

log = structlog.get_logger("trading_bot.oanda")

M = TypeVar("M")


class EndReason(StrEnum):
    LOST = "lost"
    SILENT = "silent"


class LineParser(Generic[M]):
    """Stream lines to typed messages; what cannot be used is counted in `dropped` by reason."""

    def __init__(self, decoder: msgspec.json.Decoder[M]) -> None:
        self.dropped: Counter[str] = Counter()
        self._decode = decoder.decode

    def parse(self, line: bytes) -> M | None:
        try:
            return self._decode(line)
        except msgspec.ValidationError as exc:
            self.drop("unexpected_shape", str(exc), line)
        except msgspec.DecodeError as exc:
            self.drop("invalid_json", str(exc), line)
        return None

    def drop(self, reason: str, error: str, line: bytes) -> None:
        self.dropped[reason] += 1
        log.warning("oanda stream line dropped", reason=reason, error=error, line=line[:200])


class StreamConnection(Generic[M]):
    """One open stream: iterate it for messages; when iteration stops, `end` and `detail` say
    why. `data` counts the messages that were not heartbeats. Silence is timed only while the
    consumer waits for the next line, so slow work between lines (a REST backfill) never looks
    like a silent stream."""

    def __init__(
        self,
        response: aiohttp.ClientResponse,
        parser: LineParser[M],
        is_heartbeat: Callable[[M], bool],
        stale_after_s: float,
    ) -> None:
        self._response = response
        self._parser = parser
        self._is_heartbeat = is_heartbeat
        self._stale_after = stale_after_s
        self.end: EndReason | None = None
        self.detail = ""
        self.data = 0

    def __aiter__(self) -> StreamConnection[M]:
        return self

    async def __anext__(self) -> M:
        content = self._response.content
        while self.end is None:
            try:
                async with asyncio.timeout(self._stale_after):
                    line = await content.readline()
            except TimeoutError:
                silence = f"nothing, not even a heartbeat, for {self._stale_after:g} s"
                self._finish(EndReason.SILENT, silence)
                break
            except (aiohttp.ClientError, OSError) as exc:
                self._finish(EndReason.LOST, f"connection lost ({exc!r})")
                break
            if not line:
                self._finish(EndReason.LOST, "connection closed")
                break
            if not line.strip():
                continue
            message = self._parser.parse(line)
            if message is not None:
                if not self._is_heartbeat(message):
                    self.data += 1
                return message
        raise StopAsyncIteration

    def close(self) -> None:
        self._response.close()

    def _finish(self, end: EndReason, detail: str) -> None:
        self.end, self.detail = end, detail


class NdjsonStream(Generic[M]):
    """Connections to one OANDA stream at `path` (under `stream_url`) with `params`."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        settings: OandaSettings,
        path: str,
        decoder: msgspec.json.Decoder[M],
        is_heartbeat: Callable[[M], bool],
        params: Mapping[str, str] | None = None,
    ) -> None:
        self.path = path
        self.params = dict(params or {})
        self.parser: LineParser[M] = LineParser(decoder)
        self.connects = 0
        self._is_heartbeat = is_heartbeat
        self._session = session
        self._settings = settings

    async def connect(self) -> StreamConnection[M]:
        """One connection attempt: TemporaryError if it fails; AuthError or InvalidRequest if
        OANDA refuses the token, the account or the instrument (trying again cannot help)."""
        settings = self._settings
        url = settings.stream_url + self.path
        try:
            async with asyncio.timeout(settings.request_timeout_s):
                response = await self._session.get(url, params=self.params)
                if response.status != 200:
                    body = await response.read()
                    response.release()
                    raise error_of("GET", self.path, response.status, response.headers, body)
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            raise TemporaryError(f"cannot open the OANDA stream {self.path}: {exc!r}") from exc
        self.connects += 1
        return StreamConnection(response, self.parser, self._is_heartbeat, settings.stale_after_s)
