"""Binance spot REST: market data, server time and request signing, within Binance's limits.

No request is sent while a 429/418 `Retry-After` runs, and once the weight used this minute
(`X-MBX-USED-WEIGHT-1M`) nears the limit, requests wait for the next minute: Binance bans IPs
that keep asking after a 429, so the client slows down before it has to be told. Failures leave
this module as `trading_bot.venues.errors`, never as aiohttp's or Binance's own shapes.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from typing import TypeVar
from urllib.parse import quote, urlencode

import aiohttp
import msgspec
import structlog

from trading_bot.core.clock import Clock
from trading_bot.venues.binance.config import BinanceSettings
from trading_bot.venues.binance.markets import Markets
from trading_bot.venues.binance.schemas import (
    ApiError,
    ExchangeInfo,
    RestKline,
    ServerTime,
    rest_kline_decoder,
)
from trading_bot.venues.errors import (
    AuthError,
    InvalidRequest,
    RateLimited,
    TemporaryError,
    VenueError,
)

log = structlog.get_logger("trading_bot.binance")

API_KEY_HEADER = "X-MBX-APIKEY"
WEIGHT_HEADER = "X-MBX-USED-WEIGHT-1M"
KLINES_LIMIT = 1000
MINUTE_MS = 60_000
DEFAULT_WEIGHT_LIMIT = 6000
# Request weights of the endpoints used (Binance's documentation; exchangeInfo without filters).
WEIGHTS = {"/api/v3/time": 1, "/api/v3/exchangeInfo": 20, "/api/v3/klines": 2}
_AUTH_CODES = frozenset({-1022, -2014, -2015})  # bad signature, bad key format, rejected key

Sleep = Callable[[float], Awaitable[None]]
T = TypeVar("T")


# -- signing -----------------------------------------------------------------------------------


def sign(payload: str, secret: str) -> str:
    """Binance's HMAC `signature`: HMAC-SHA256 of the exact query string, keyed by the secret."""
    return hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()


def signed_query(
    params: Sequence[tuple[str, str | int]], secret: str, timestamp_ms: int, recv_window_ms: int
) -> str:
    """The query string of a SIGNED request: the parameters percent-encoded (UTF-8) in order,
    `recvWindow` and `timestamp`, then the `signature` of all that. Send the API key in the
    `X-MBX-APIKEY` header."""
    query = urlencode(
        [*params, ("recvWindow", recv_window_ms), ("timestamp", timestamp_ms)], quote_via=quote
    )
    return f"{query}&signature={sign(query, secret)}"


# -- pacing ------------------------------------------------------------------------------------


class RequestPacer:
    """Decides when the next request may go: after any `Retry-After`, and within `headroom` of
    the per-minute weight limit. Times are Binance's (server) milliseconds from `now`."""

    def __init__(
        self,
        now: Callable[[], int],
        sleep: Sleep,
        headroom: float,
        max_wait_s: float,
        limit: int = DEFAULT_WEIGHT_LIMIT,
    ) -> None:
        self.limit = limit
        self.used = 0  # weight used in `_minute`, as Binance last reported it plus what we sent
        self.pauses = 0
        self._now = now
        self._sleep = sleep
        self._headroom = headroom
        self._max_wait_ms = max_wait_s * 1000
        self._minute = -1
        self._blocked_until = 0

    async def wait(self, weight: int) -> None:
        """Return when a request of `weight` may be sent; RateLimited if that is too far off."""
        now = self._now()
        if now < self._blocked_until:
            wait_ms = self._blocked_until - now
            if wait_ms > self._max_wait_ms:
                raise RateLimited(
                    f"Binance allows no request for another {wait_ms / 1000:.0f} s",
                    retry_after=wait_ms / 1000,
                )
            await self._pause(wait_ms, "retry-after")
            now = self._now()
        minute = now // MINUTE_MS
        if minute != self._minute:
            self._minute, self.used = minute, 0
        if self.used + weight > self.limit * self._headroom:
            await self._pause((minute + 1) * MINUTE_MS - now, "request weight")
            self._minute, self.used = minute + 1, 0
        self.used += weight

    def note_used(self, used: int) -> None:
        """What Binance counted this minute (`X-MBX-USED-WEIGHT-1M`): other clients on the same
        IP count too."""
        self._minute, self.used = self._now() // MINUTE_MS, used

    def block(self, retry_after_s: float) -> None:
        self._blocked_until = max(self._blocked_until, self._now() + round(retry_after_s * 1000))

    async def _pause(self, wait_ms: int, reason: str) -> None:
        self.pauses += 1
        log.info("binance requests paused", reason=reason, seconds=round(wait_ms / 1000, 3))
        await self._sleep(wait_ms / 1000)


# -- client ------------------------------------------------------------------------------------


class BinanceRest:
    """Binance spot REST client. `clock` and `sleep` are injectable so that tests measure waits
    on a simulated clock; use as `async with` or call `close()`."""

    def __init__(self, settings: BinanceSettings, clock: Clock, *, sleep: Sleep = asyncio.sleep):
        self.settings = settings
        self._clock = clock
        self._sleep = sleep
        self._session: aiohttp.ClientSession | None = None
        self.time_offset_ms = 0  # Binance's clock minus ours, from the last `server_time()`
        self.pacer = RequestPacer(
            self.server_now_ms, sleep, settings.weight_headroom, settings.max_rate_wait_s
        )

    async def __aenter__(self) -> BinanceRest:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def server_now_ms(self) -> int:
        """Binance's time now, by our clock and the last measured offset."""
        return self._clock.now_ms() + self.time_offset_ms

    # -- endpoints ----------------------------------------------------------------------------

    async def server_time(self) -> int:
        """Binance's time (ms); also re-measures `time_offset_ms` (halfway through the call)."""
        before = self._clock.now_ms()
        reply = self._decode("/api/v3/time", await self._get("/api/v3/time"), ServerTime)
        self.time_offset_ms = reply.server_time - (before + self._clock.now_ms()) // 2
        return reply.server_time

    async def exchange_info(self) -> ExchangeInfo:
        """Every spot symbol and its rules; also adopts the announced request weight limit."""
        path = "/api/v3/exchangeInfo"
        info = self._decode(path, await self._get(path), ExchangeInfo)
        limit = info.weight_limit_per_minute()
        if limit:
            self.pacer.limit = limit
        return info

    async def markets(self) -> Markets:
        return Markets.from_exchange_info(await self.exchange_info())

    async def klines(
        self,
        venue_symbol: str,
        interval: str,
        start_ms: int | None = None,
        end_ms: int | None = None,
        limit: int = KLINES_LIMIT,
    ) -> list[RestKline]:
        """One page of klines, oldest first. Without times, the latest ones, the last of which
        may still be forming."""
        params = {"symbol": venue_symbol, "interval": interval, "limit": str(limit)}
        if start_ms is not None:
            params["startTime"] = str(start_ms)
        if end_ms is not None:
            params["endTime"] = str(end_ms)
        path = "/api/v3/klines"
        body = await self._get(path, params)
        try:
            return rest_kline_decoder.decode(body)
        except msgspec.DecodeError as exc:
            raise _unexpected(path, body, exc) from exc

    async def iter_klines(
        self, venue_symbol: str, interval: str, start_ms: int, end_ms: int
    ) -> AsyncIterator[list[RestKline]]:
        """Every kline opening in [start_ms, end_ms], a page of up to 1000 at a time."""
        while start_ms <= end_ms:
            page = await self.klines(venue_symbol, interval, start_ms, end_ms)
            if page:
                yield page
            if len(page) < KLINES_LIMIT:
                return
            start_ms = page[-1].open_time + 1

    # -- transport ----------------------------------------------------------------------------

    async def _get(self, path: str, params: Mapping[str, str] | None = None) -> bytes:
        """GET with pacing, retrying temporary failures (reads are safe to repeat)."""
        attempts = self.settings.rest_attempts
        for attempt in range(1, attempts + 1):
            await self.pacer.wait(WEIGHTS.get(path, 1))
            try:
                return await self._send(path, params)
            except RateLimited as exc:
                if exc.banned or attempt == attempts:
                    raise
                log.warning("binance rate limit hit", path=path, retry_after=exc.retry_after)
            except TemporaryError as exc:
                if attempt == attempts:
                    raise
                delay = self.settings.rest_retry_s * 2 ** (attempt - 1)
                log.warning("binance request failed; retrying", error=str(exc), seconds=delay)
                await self._sleep(delay)
        raise AssertionError("unreachable")

    async def _send(self, path: str, params: Mapping[str, str] | None) -> bytes:
        if self._session is None:
            timeout = aiohttp.ClientTimeout(total=self.settings.request_timeout_s)
            self._session = aiohttp.ClientSession(timeout=timeout)
        try:
            async with self._session.get(self.settings.rest_url + path, params=params) as reply:
                body = await reply.read()
                status, headers = reply.status, reply.headers
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise TemporaryError(f"GET {path} failed: {exc!r}") from exc
        used = headers.get(WEIGHT_HEADER, "")
        if used.isdigit():
            self.pacer.note_used(int(used))
        if status == 200:
            return body
        raise self._error(path, status, headers, body)

    def _error(self, path: str, status: int, headers: Mapping[str, str], body: bytes) -> VenueError:
        try:
            error: ApiError | None = msgspec.json.decode(body, type=ApiError)
        except msgspec.DecodeError:
            error = None
        code = None if error is None else error.code
        what = f"GET {path}: HTTP {status}" + ("" if error is None else f" ({code}: {error.msg})")
        if status in (418, 429):
            retry_after = _retry_after(headers, default=120.0 if status == 418 else 60.0)
            self.pacer.block(retry_after)
            return RateLimited(what, retry_after=retry_after, banned=status == 418, code=code)
        if status >= 500 or status == 403:  # 403: Binance's web application firewall
            return TemporaryError(what, code=code)
        if status == 401 or code in _AUTH_CODES:
            return AuthError(what, code=code)
        return InvalidRequest(what, code=code)

    @staticmethod
    def _decode(path: str, body: bytes, kind: type[T]) -> T:
        try:
            return msgspec.json.decode(body, type=kind)
        except msgspec.DecodeError as exc:
            raise _unexpected(path, body, exc) from exc


def _retry_after(headers: Mapping[str, str], default: float) -> float:
    try:
        return max(0.0, float(headers.get("Retry-After", default)))
    except ValueError:
        return default


def _unexpected(path: str, body: bytes, exc: Exception) -> TemporaryError:
    return TemporaryError(f"GET {path}: unexpected answer ({exc}): {body[:200]!r}")
