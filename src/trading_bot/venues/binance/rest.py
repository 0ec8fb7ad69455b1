"""Binance spot REST: market data, server time and signed requests, within Binance's limits.

No request is sent while a 429/418 `Retry-After` runs, and once the weight used this minute
(`X-MBX-USED-WEIGHT-1M`) nears the limit, requests wait for the next minute: Binance bans IPs
that keep asking after a 429, so the client slows down before it has to be told. Failures leave
this module as `trading_bot.venues.errors`, never as aiohttp's or Binance's own shapes.

SIGNED requests (`signed()`) carry the API key in `X-MBX-APIKEY` and, in the query string,
`recvWindow`, a `timestamp` on Binance's clock (ours plus the offset measured by
`server_time()`) and the HMAC-SHA256 `signature` of everything before it. A -1021 answer
(timestamp outside the window) means the request was refused unprocessed: the offset is measured
again and the request sent once more. Reads are retried like public ones; a write (an order, a
cancel) is never retried here, and an answer that leaves its fate open (a timeout, a dropped
connection, a 5xx) raises `UnknownOutcome`: the caller looks the order up before anything else.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TypeVar
from urllib.parse import quote, urlencode

import aiohttp
import msgspec
import structlog
from yarl import URL

from trading_bot.core.clock import Clock
from trading_bot.venues.binance.config import BinanceSettings
from trading_bot.venues.binance.markets import Markets
from trading_bot.venues.binance.schemas import (
    ApiError,
    ExchangeInfo,
    RestKline,
    ServerTime,
    Ticker24hr,
    rest_kline_decoder,
)
from trading_bot.venues.errors import (
    AuthError,
    InvalidOrder,
    InvalidRequest,
    RateLimited,
    TemporaryError,
    UnknownOutcome,
    VenueError,
)
from trading_bot.venues.http_session import SessionHolder

log = structlog.get_logger("trading_bot.binance")

API_KEY_HEADER = "X-MBX-APIKEY"
WEIGHT_HEADER = "X-MBX-USED-WEIGHT-1M"
KLINES_LIMIT = 1000
MINUTE_MS = 60_000
DEFAULT_WEIGHT_LIMIT = 6000
# Request weights of the endpoints used (Binance's documentation; exchangeInfo without filters).
WEIGHTS = {"/api/v3/time": 1, "/api/v3/exchangeInfo": 20, "/api/v3/klines": 2}
_AUTH_CODES = frozenset({-1022, -2014, -2015})  # bad signature, bad key format, rejected key
# An order Binance refused: -2010 new order rejected, -1013 a filter failed, -1111 precision.
_ORDER_CODES = frozenset({-2010, -1013, -1111})
TIMESTAMP_OUTSIDE_WINDOW = -1021
_MESSAGE = "binance_message"  # where an error keeps Binance's own `msg` (see `binance_message`)

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


def signed_ws_params(params: Mapping[str, str | int], secret: str) -> dict[str, str | int]:
    """The params of a SIGNED WebSocket API request: the others and the `signature` of them
    all, sorted by name and percent-encoded as `name=value&...`."""
    payload = urlencode(sorted(params.items()), quote_via=quote)
    return {**params, "signature": sign(payload, secret)}


def binance_message(exc: BaseException) -> str:
    """Binance's own words for a refused request (its `msg`), or the error's text otherwise."""
    message = getattr(exc, _MESSAGE, None)
    return message if isinstance(message, str) else str(exc)


@dataclass(frozen=True, slots=True)
class ApiCredentials:
    """An API key and its HMAC secret. Neither is ever shown: not in `repr`, logs or errors."""

    api_key: str = field(repr=False)
    secret: str = field(repr=False)

    def __post_init__(self) -> None:
        if not self.api_key or not self.secret:
            raise ValueError("a Binance API key and its secret are both needed to trade")


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


class BinanceRest(SessionHolder):
    """Binance spot REST client. `clock` and `sleep` are injectable so that tests measure waits
    on a simulated clock; use as `async with` or call `close()`."""

    def __init__(
        self,
        settings: BinanceSettings,
        clock: Clock,
        *,
        sleep: Sleep = asyncio.sleep,
        credentials: ApiCredentials | None = None,
    ):
        self.settings = settings
        self.credentials = credentials
        self._clock = clock
        self._sleep = sleep
        self.time_offset_ms = 0  # Binance's clock minus ours, from the last `server_time()`
        self.pacer = RequestPacer(
            self.server_now_ms, sleep, settings.weight_headroom, settings.max_rate_wait_s
        )

    def server_now_ms(self) -> int:
        """Binance's time now, by our clock and the last measured offset."""
        return self._clock.now_ms() + self.time_offset_ms

    def _open_session(self) -> aiohttp.ClientSession:
        return aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=self.settings.request_timeout_s)
        )

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

    async def ticker_24hr(self, venue_symbols: Sequence[str] | None = None) -> list[Ticker24hr]:
        """The rolling 24 h statistics of these symbols (of every symbol when None), at the
        request weight Binance charges for that many."""
        path = "/api/v3/ticker/24hr"
        params = None if venue_symbols is None else {"symbols": _json_list(venue_symbols)}
        body = await self._get(path, params, ticker_weight(venue_symbols))
        return self._decode(path, body, list[Ticker24hr])

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

    # -- signed requests ------------------------------------------------------------------------

    async def signed(
        self,
        method: str,
        path: str,
        params: Sequence[tuple[str, str]] = (),
        *,
        weight: int = 1,
        write: bool = False,
        timestamps: list[int] | None = None,
    ) -> bytes:
        """A SIGNED request (TRADE or USER_DATA). `write`: it changes state, so it is never
        retried, and a failure that leaves its fate open raises `UnknownOutcome`. The
        `timestamp` of each request sent is appended to `timestamps`: after its recvWindow,
        Binance no longer accepts it."""
        credentials = self._credentials()
        headers = {API_KEY_HEADER: credentials.api_key}
        attempts = 1 if write else self.settings.rest_attempts
        attempt, resynced = 0, False
        while True:
            attempt += 1
            await self.pacer.wait(weight)
            timestamp = self.server_now_ms()
            if timestamps is not None:
                timestamps.append(timestamp)
            query = signed_query(
                params, credentials.secret, timestamp, self.settings.recv_window_ms
            )
            try:
                return await self._send(method, path, query=query, headers=headers, write=write)
            except VenueError as exc:
                if exc.code == TIMESTAMP_OUTSIDE_WINDOW and not resynced:
                    # refused before processing: measure the clock offset again and resend
                    log.warning("binance timestamp outside recvWindow; resyncing", path=path)
                    resynced = True
                    attempt -= 1
                    await self.server_time()
                    continue
                if not await self._may_retry(exc, attempt, attempts, path):
                    raise

    async def keyed(self, method: str, path: str, params: Mapping[str, str] | None = None) -> bytes:
        """A request that needs the API key but no signature (USER_STREAM: listen keys)."""
        headers = {API_KEY_HEADER: self._credentials().api_key}
        await self.pacer.wait(WEIGHTS.get(path, 2))
        return await self._send(method, path, params, headers=headers)

    def _credentials(self) -> ApiCredentials:
        if self.credentials is None:
            raise AuthError("this request needs Binance API credentials, and none were given")
        return self.credentials

    # -- transport ----------------------------------------------------------------------------

    async def _get(
        self, path: str, params: Mapping[str, str] | None = None, weight: int | None = None
    ) -> bytes:
        """GET with pacing, retrying temporary failures (reads are safe to repeat)."""
        attempts = self.settings.rest_attempts
        for attempt in range(1, attempts + 1):
            await self.pacer.wait(WEIGHTS.get(path, 1) if weight is None else weight)
            try:
                return await self._send("GET", path, params)
            except VenueError as exc:
                if not await self._may_retry(exc, attempt, attempts, path):
                    raise
        raise AssertionError("unreachable")

    async def _may_retry(self, exc: VenueError, attempt: int, attempts: int, path: str) -> bool:
        """Whether to try a failed read again (after waiting here as needed)."""
        if not isinstance(exc, TemporaryError) or attempt >= attempts:
            return False
        if isinstance(exc, RateLimited):
            if exc.banned:
                return False
            log.warning("binance rate limit hit", path=path, retry_after=exc.retry_after)
            return True  # the pacer waits out the Retry-After
        delay = self.settings.rest_retry_s * 2 ** (attempt - 1)
        log.warning("binance request failed; retrying", error=str(exc), seconds=delay)
        await self._sleep(delay)
        return True

    async def _send(
        self,
        method: str,
        path: str,
        params: Mapping[str, str] | None = None,
        *,
        query: str | None = None,
        headers: Mapping[str, str] | None = None,
        write: bool = False,
    ) -> bytes:
        url: str | URL = self.settings.rest_url + path
        if query is not None:  # already encoded and signed: sent byte for byte
            url = URL(f"{url}?{query}", encoded=True)
        try:
            async with self.session.request(method, url, params=params, headers=headers) as reply:
                body = await reply.read()
                status, reply_headers = reply.status, reply.headers
        except aiohttp.ClientConnectorError as exc:  # never reached Binance
            raise TemporaryError(f"{method} {path} failed: {exc!r}") from exc
        except (aiohttp.ClientError, TimeoutError) as exc:
            kind = UnknownOutcome if write else TemporaryError
            raise kind(f"{method} {path} failed: {exc!r}") from exc
        used = reply_headers.get(WEIGHT_HEADER, "")
        if used.isdigit():
            self.pacer.note_used(int(used))
        if status == 200:
            return body
        raise self._error(method, path, status, reply_headers, body, write=write)

    def _error(
        self,
        method: str,
        path: str,
        status: int,
        headers: Mapping[str, str],
        body: bytes,
        *,
        write: bool = False,
    ) -> VenueError:
        try:
            error: ApiError | None = msgspec.json.decode(body, type=ApiError)
        except msgspec.DecodeError:
            error = None
        code = None if error is None else error.code
        what = f"{method} {path}: HTTP {status}" + (
            "" if error is None else f" ({code}: {error.msg})"
        )
        exc: VenueError
        if status in (418, 429):
            retry_after = _retry_after(headers, default=120.0 if status == 418 else 60.0)
            self.pacer.block(retry_after)
            exc = RateLimited(what, retry_after=retry_after, banned=status == 418, code=code)
        elif status >= 500 and write:  # Binance: the execution status is UNKNOWN
            exc = UnknownOutcome(what, code=code)
        elif status >= 500 or status == 403:  # 403: Binance's web application firewall
            exc = TemporaryError(what, code=code)
        elif status == 401 or code in _AUTH_CODES:
            exc = AuthError(what, code=code)
        elif code in _ORDER_CODES:
            exc = InvalidOrder(what, code=code)
        else:
            exc = InvalidRequest(what, code=code)
        if error is not None:
            setattr(exc, _MESSAGE, error.msg)
        return exc

    @staticmethod
    def _decode(path: str, body: bytes, kind: type[T]) -> T:
        return decode_reply(path, body, kind)


def decode_reply(path: str, body: bytes, kind: type[T]) -> T:
    """A reply as its typed struct; an answer of another shape is a TemporaryError."""
    try:
        return msgspec.json.decode(body, type=kind)
    except msgspec.DecodeError as exc:
        raise _unexpected(path, body, exc) from exc


def ticker_weight(venue_symbols: Sequence[str] | None) -> int:
    """Binance's request weight of the 24 h ticker for these symbols (None: all of them)."""
    if venue_symbols is None:
        return 80
    count = len(venue_symbols)
    return 2 if count <= 20 else 40 if count <= 100 else 80


def _json_list(items: Sequence[str]) -> str:
    return msgspec.json.encode(list(items)).decode()


def _retry_after(headers: Mapping[str, str], default: float) -> float:
    try:
        return max(0.0, float(headers.get("Retry-After", default)))
    except ValueError:
        return default


def _unexpected(path: str, body: bytes, exc: Exception) -> TemporaryError:
    return TemporaryError(f"{path}: unexpected answer ({exc}): {body[:200]!r}")
