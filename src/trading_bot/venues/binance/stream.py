"""Binance combined market streams: every symbol on one WebSocket, within Binance's rules.

`KlineStream.connect()` opens `/stream?streams=btcusdt@kline_1m/ethusdt@kline_1m` (one attempt,
inside the connection budget), optionally with `@bookTicker` and `@aggTrade` streams beside the
klines; the `StreamConnection` it returns yields typed messages until the connection ends and then
says why in `end`: lost, silent, aged (the 24 h limit is near) or announced by `serverShutdown`.
aiohttp answers Binance's pings with pongs while a read is pending (autoping). Malformed frames
are dropped, counted by reason and logged, never raised.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Sequence
from enum import StrEnum

import aiohttp
import msgspec
import structlog

from trading_bot.data.timeframes import parse_timeframe
from trading_bot.venues.binance.config import BinanceSettings
from trading_bot.venues.binance.schemas import (
    AggTradeEvent,
    BookTicker,
    KlineEvent,
    ServerShutdown,
    StreamKline,
    book_ticker_decoder,
    stream_decoder,
)
from trading_bot.venues.errors import TemporaryError

log = structlog.get_logger("trading_bot.binance")

# Binance's kline intervals, less "1M": a month has no fixed length in milliseconds.
KLINE_INTERVALS = (
    *("1s", "1m", "3m", "5m", "15m", "30m"),
    *("1h", "2h", "4h", "6h", "8h", "12h", "1d", "3d", "1w"),
)
MAX_STREAMS = 1024  # per connection
CLOSE_TIMEOUT_S = 2.0  # a dead peer never answers the close frame


def interval_ms(interval: str) -> int:
    """Milliseconds of a Binance kline interval; ValueError lists the usable ones."""
    if interval not in KLINE_INTERVALS:
        raise ValueError(
            f"Binance has no kline interval {interval!r} usable here; use one of "
            + ", ".join(KLINE_INTERVALS)
        )
    return parse_timeframe(interval)


EXTRA_STREAMS = ("bookTicker", "aggTrade")  # optional streams beside the klines
StreamMessage = StreamKline | AggTradeEvent | BookTicker
_BOOK_TICKER = "@bookTicker"
_BOOK_TICKER_BYTES = _BOOK_TICKER.encode()


def kline_stream(venue_symbol: str, interval: str) -> str:
    return f"{venue_symbol.lower()}@kline_{interval}"


def symbol_stream(venue_symbol: str, kind: str) -> str:
    """`btcusdt@bookTicker` or `btcusdt@aggTrade` (`kind` one of EXTRA_STREAMS)."""
    return f"{venue_symbol.lower()}@{kind}"


class EndReason(StrEnum):
    LOST = "lost"
    SILENT = "silent"
    AGED = "aged"
    SHUTDOWN = "server shutdown"

    @property
    def planned(self) -> bool:
        """Ended on purpose, with nothing wrong: reconnect at once."""
        return self in (EndReason.AGED, EndReason.SHUTDOWN)


class ConnectBudget:
    """At most `limit` connection attempts in any `window_s` seconds: Binance allows 300 per 5
    minutes per IP, and a reconnect loop must never be what spends them."""

    def __init__(
        self,
        limit: int,
        window_s: float = 300.0,
        now: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._limit = limit
        self._window = window_s
        self._now = now
        self._sleep = sleep
        self._attempts: deque[float] = deque()

    async def acquire(self) -> None:
        """Return when one more attempt fits in the window, and count it."""
        while True:
            now = self._now()
            while self._attempts and self._attempts[0] <= now - self._window:
                self._attempts.popleft()
            if len(self._attempts) < self._limit:
                self._attempts.append(now)
                return
            wait = self._attempts[0] + self._window - now
            log.warning("binance stream connections throttled", seconds=round(wait, 1))
            await self._sleep(wait)


class FrameParser:
    """Stream frames to typed messages; what cannot be used is counted in `dropped` by reason."""

    def __init__(self) -> None:
        self.dropped: Counter[str] = Counter()

    def parse(self, frame: str | bytes) -> StreamMessage | ServerShutdown | None:
        try:
            # the stream's name, near the start: a bookTicker frame carries no event type
            head = frame[:48]
            book = _BOOK_TICKER in head if isinstance(head, str) else _BOOK_TICKER_BYTES in head
            if book:
                return book_ticker_decoder.decode(frame).data
            data = stream_decoder.decode(frame).data
        except msgspec.ValidationError as exc:
            self.drop("unexpected_shape", str(exc), frame)
            return None
        except msgspec.DecodeError as exc:
            self.drop("invalid_json", str(exc), frame)
            return None
        return data.k if isinstance(data, KlineEvent) else data

    def drop(self, reason: str, error: str, frame: str | bytes | object) -> None:
        self.dropped[reason] += 1
        log.warning(
            "binance stream frame dropped", reason=reason, error=error, frame=str(frame)[:200]
        )


class StreamConnection:
    """One open stream: iterate it for klines; when iteration stops, `end` and `detail` say why.
    Silence is timed only while the consumer waits for the next kline, so slow work between
    klines (a REST backfill) never looks like a silent stream."""

    def __init__(
        self,
        ws: aiohttp.ClientWebSocketResponse,
        parser: FrameParser,
        max_age_s: float,
        stale_after_s: float,
    ) -> None:
        self._ws = ws
        self._parser = parser
        self._stale_after = stale_after_s
        self._expires = asyncio.get_running_loop().time() + max_age_s
        self.end: EndReason | None = None
        self.detail = ""
        self.messages = 0  # data messages received

    def __aiter__(self) -> StreamConnection:
        return self

    async def __anext__(self) -> StreamMessage:
        loop = asyncio.get_running_loop()
        quiet_since = loop.time()
        while self.end is None:
            if loop.time() >= self._expires:  # checked first: a busy stream never times out
                self._finish(EndReason.AGED, "connection near Binance's 24 h limit")
                break
            try:
                async with asyncio.timeout_at(min(quiet_since + self._stale_after, self._expires)):
                    message = await self._ws.receive()
            except TimeoutError:
                if loop.time() < self._expires:
                    self._finish(EndReason.SILENT, f"no message for {self._stale_after:g} s")
                continue
            if message.type not in (aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.BINARY):
                self._finish(EndReason.LOST, f"connection closed ({message.type.name})")
                break
            quiet_since = loop.time()
            parsed = self._parser.parse(message.data)
            if isinstance(parsed, ServerShutdown):
                self._finish(EndReason.SHUTDOWN, "Binance announced a server shutdown")
            elif parsed is not None:
                self.messages += 1
                return parsed
        raise StopAsyncIteration

    async def close(self) -> None:
        await self._ws.close()

    def _finish(self, end: EndReason, detail: str) -> None:
        self.end, self.detail = end, detail


class KlineStream:
    """Connections to the combined kline streams of `streams` (see `kline_stream`)."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        settings: BinanceSettings,
        streams: Sequence[str],
        budget: ConnectBudget | None = None,
    ) -> None:
        if not 0 < len(streams) <= MAX_STREAMS:
            raise ValueError(f"a stream connection carries 1 to {MAX_STREAMS} streams")
        self.url = f"{settings.ws_url}/stream?streams={'/'.join(streams)}"
        self.parser = FrameParser()
        self.budget = budget or ConnectBudget(settings.connects_per_5m)
        self.connects = 0
        self._session = session
        self._settings = settings

    async def connect(self) -> StreamConnection:
        """One connection attempt, once the budget allows it; TemporaryError if it fails."""
        await self.budget.acquire()
        settings = self._settings
        try:
            async with asyncio.timeout(settings.request_timeout_s):
                ws = await self._session.ws_connect(
                    self.url,
                    autoping=True,
                    timeout=aiohttp.ClientWSTimeout(ws_close=CLOSE_TIMEOUT_S),
                )
        except aiohttp.WSServerHandshakeError as exc:
            raise TemporaryError(f"Binance refused the stream: HTTP {exc.status}") from exc
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            raise TemporaryError(f"cannot open the Binance stream: {exc!r}") from exc
        self.connects += 1
        return StreamConnection(
            ws, self.parser, settings.connection_max_age_s, settings.stale_after_s
        )
