"""OANDA v20 REST: the account's instruments and candles, with OANDA's errors made ours.

Every request carries the Bearer token and `Accept-Datetime-Format: RFC3339`. Failures leave
this module as `trading_bot.venues.errors`: 401/403 `AuthError`, 429 `RateLimited` (after
`Retry-After`, 1 s if OANDA gives none), 5xx, timeouts and network trouble `TemporaryError`,
other refusals `InvalidRequest`, each with OANDA's `errorCode` and `errorMessage` in its text.
Reads are retried with backoff. The token appears in no message, log or repr.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from typing import TypeVar

import aiohttp
import msgspec
import structlog

from trading_bot.core.model import Candle, Instrument
from trading_bot.data.timeframes import parse_timeframe
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
from trading_bot.venues.oanda.config import OandaSettings
from trading_bot.venues.oanda.instruments import granularity, to_instrument, venue_name
from trading_bot.venues.oanda.schemas import (
    AccountInstrument,
    AccountInstruments,
    ApiError,
    Candlestick,
    candles_decoder,
    ms_rfc3339,
    rfc3339_ms,
)

log = structlog.get_logger("trading_bot.oanda")

MAX_CANDLES = 5000  # OANDA's largest `count`
DEFAULT_RETRY_AFTER_S = 1.0
PRICE_PARAM = {"mid": "M", "bid": "B", "ask": "A"}
Sleep = Callable[[float], Awaitable[None]]
T = TypeVar("T")


def auth_headers(settings: OandaSettings) -> dict[str, str]:
    """The headers of every OANDA request; AuthError naming the key when the token is missing."""
    if settings.token is None:
        raise AuthError(
            "oanda.token is not set: give the API token as TRADING_BOT_OANDA__TOKEN or as a "
            "file with oanda.token_file"
        )
    return {
        "Authorization": f"Bearer {settings.token.get_secret_value()}",
        "Accept-Datetime-Format": "RFC3339",
    }


def account_path(settings: OandaSettings, rest: str) -> str:
    if not settings.account_id:
        raise InvalidRequest("oanda.account_id is not set: give the v20 account's id")
    return f"/v3/accounts/{settings.account_id}/{rest}"


def error_of(
    method: str,
    path: str,
    status: int,
    headers: Mapping[str, str],
    body: bytes,
    *,
    write: bool = False,
) -> VenueError:
    """An OANDA error answer as one of our errors; `write`: the request changes state, so a
    5xx leaves its fate unknown."""
    try:
        error = msgspec.json.decode(body, type=ApiError)
    except msgspec.DecodeError:
        error = ApiError()
    reason = error.order_reject_transaction.reject_reason if error.order_reject_transaction else ""
    code = error.error_code or reason
    said = f" ({code + ': ' if code else ''}{error.error_message})" if error.error_message else ""
    what = f"{method} {path}: HTTP {status}{said}"
    if status in (401, 403):
        return AuthError(what, code=status)
    if status == 429:
        return RateLimited(what, retry_after=_retry_after(headers), code=status)
    if status >= 500:
        return UnknownOutcome(what, code=status) if write else TemporaryError(what, code=status)
    if error.order_reject_transaction is not None:
        return InvalidOrder(what, code=status)
    return InvalidRequest(what, code=status)


class OandaRest(SessionHolder):
    """OANDA v20 REST client; `sleep` is injectable so tests never wait. Use as `async with`
    or call `close()`."""

    def __init__(self, settings: OandaSettings, *, sleep: Sleep = asyncio.sleep) -> None:
        self.settings = settings
        self._sleep = sleep

    def _open_session(self) -> aiohttp.ClientSession:
        """With the token: AuthError if it is missing."""
        timeout = aiohttp.ClientTimeout(total=self.settings.request_timeout_s)
        return aiohttp.ClientSession(timeout=timeout, headers=auth_headers(self.settings))

    # -- endpoints ----------------------------------------------------------------------------

    async def account_instruments(self, symbols: Sequence[str] = ()) -> list[AccountInstrument]:
        """The account's tradeable instruments (all of them without `symbols`)."""
        params = {"instruments": ",".join(map(venue_name, symbols))} if symbols else None
        path = account_path(self.settings, "instruments")
        return decode_reply(path, await self.read(path, params), AccountInstruments).instruments

    async def instrument(self, symbol: str) -> Instrument:
        """The rules of one of our symbols ("EUR/USD"); InvalidRequest if the account lacks it."""
        for info in await self.account_instruments([symbol]):
            if info.name == venue_name(symbol):
                return to_instrument(info)
        raise InvalidRequest(f"the OANDA account {self.settings.account_id} has no {symbol}")

    async def candles(
        self,
        symbol: str,
        timeframe: str,
        *,
        from_ms: int | None = None,
        to_ms: int | None = None,
        count: int = MAX_CANDLES,
        include_first: bool = True,
    ) -> list[Candlestick]:
        """One page of up to `count` candles from `from_ms`, or ending before `to_ms`, or the
        latest (the last may be incomplete), with days aligned on midnight UTC as all our
        candles are."""
        path = f"/v3/instruments/{venue_name(symbol)}/candles"
        params = {
            "price": PRICE_PARAM[self.settings.price],
            "granularity": granularity(timeframe),
            "count": str(count),
            "dailyAlignment": "0",
            "alignmentTimezone": "UTC",
        }
        if from_ms is not None:
            params["from"] = ms_rfc3339(from_ms)
            params["includeFirst"] = "true" if include_first else "false"
        if to_ms is not None:
            params["to"] = ms_rfc3339(to_ms)
        body = await self.read(path, params)
        try:
            return candles_decoder.decode(body).candles
        except msgspec.DecodeError as exc:
            raise _unexpected(path, body, exc) from exc

    async def history(
        self, symbol: str, timeframe: str, count: int, until_open: int | None = None
    ) -> list[Candle]:
        """The `count` complete candles ending with the one opening at `until_open` (the newest
        without it), oldest first, fetched backwards a page at a time."""
        tf = parse_timeframe(timeframe)
        to_ms = None if until_open is None else until_open + tf
        candles: list[Candle] = []
        while len(candles) < count:
            wanted = min(MAX_CANDLES, count - len(candles) + 1)
            page = await self.candles(symbol, timeframe, to_ms=to_ms, count=wanted)
            older = [
                self.candle(symbol, tf, c)
                for c in page
                if c.complete and (to_ms is None or rfc3339_ms(c.time) < to_ms)
            ]
            candles[:0] = older
            if len(page) < wanted or not older:
                break
            to_ms = older[0].open_time
        return candles[-count:] if count else []

    async def iter_candles(
        self, symbol: str, timeframe: str, first_open: int, last_open: int | None = None
    ) -> AsyncIterator[list[Candle]]:
        """Every complete candle opening in [first_open, last_open] (to the newest complete
        one without `last_open`), a page at a time, as our candles."""
        tf = parse_timeframe(timeframe)
        start, include_first = first_open, True
        while last_open is None or start <= last_open:
            page = await self.candles(symbol, timeframe, from_ms=start, include_first=include_first)
            candles = []
            for c in page:
                candle = self.candle(symbol, tf, c)
                if not c.complete or (last_open is not None and candle.open_time > last_open):
                    break
                candles.append(candle)
            if candles:
                yield candles
            if len(candles) < len(page) or len(page) < MAX_CANDLES:
                return
            start, include_first = candles[-1].open_time, False

    def candle(self, symbol: str, timeframe_ms: int, c: Candlestick) -> Candle:
        """One of OANDA's candles as ours, in the configured price; its volume is OANDA's count
        of prices."""
        prices = getattr(c, self.settings.price)
        if prices is None:
            raise TemporaryError(f"OANDA sent a candle without {self.settings.price} prices")
        time = rfc3339_ms(c.time)
        return Candle(
            symbol,
            timeframe_ms,
            time,
            prices.o,
            prices.h,
            prices.low,
            prices.c,
            float(c.volume),
            c.complete,
        )

    # -- transport ----------------------------------------------------------------------------

    async def read(self, path: str, params: Mapping[str, str] | None = None) -> bytes:
        """GET, retrying temporary failures (reads are safe to repeat)."""
        attempts = self.settings.rest_attempts
        for attempt in range(1, attempts + 1):
            try:
                return await self._send("GET", path, params)
            except TemporaryError as exc:
                if attempt >= attempts:
                    raise
                delay = (
                    exc.retry_after
                    if isinstance(exc, RateLimited)
                    else self.settings.rest_retry_s * 2 ** (attempt - 1)
                )
                log.warning("oanda request failed; retrying", error=str(exc), seconds=delay)
                await self._sleep(delay)
        raise AssertionError("unreachable")

    async def write(self, method: str, path: str, body: object | None = None) -> bytes:
        """A request that changes state (an order, a cancel, a close): never retried here; a
        failure that leaves its fate open raises `UnknownOutcome`."""
        return await self._send(method, path, body=body, write=True)

    async def _send(
        self,
        method: str,
        path: str,
        params: Mapping[str, str] | None = None,
        *,
        body: object | None = None,
        write: bool = False,
    ) -> bytes:
        url = self.settings.rest_url + path
        data = None if body is None else msgspec.json.encode(body)
        headers = None if data is None else {"Content-Type": "application/json"}
        try:
            async with self.session.request(
                method, url, params=params, data=data, headers=headers
            ) as reply:
                answer = await reply.read()
                status, reply_headers = reply.status, reply.headers
        except aiohttp.ClientConnectorError as exc:  # never reached OANDA
            raise TemporaryError(f"{method} {path} failed: {exc!r}") from exc
        except (aiohttp.ClientError, TimeoutError) as exc:
            kind = UnknownOutcome if write else TemporaryError
            raise kind(f"{method} {path} failed: {exc!r}") from exc
        if status in (200, 201):
            return answer
        raise error_of(method, path, status, reply_headers, answer, write=write)


def decode_reply(path: str, body: bytes, kind: type[T]) -> T:
    """A reply as its typed struct; an answer of another shape is a TemporaryError."""
    try:
        return msgspec.json.decode(body, type=kind, strict=False)
    except msgspec.DecodeError as exc:
        raise _unexpected(path, body, exc) from exc


def _retry_after(headers: Mapping[str, str]) -> float:
    try:
        return max(0.0, float(headers.get("Retry-After", DEFAULT_RETRY_AFTER_S)))
    except ValueError:
        return DEFAULT_RETRY_AFTER_S


def _unexpected(path: str, body: bytes, exc: Exception) -> TemporaryError:
    return TemporaryError(f"{path}: unexpected answer ({exc}): {body[:200]!r}")
