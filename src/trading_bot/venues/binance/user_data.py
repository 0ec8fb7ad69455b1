"""The Binance spot user data stream: order updates (`executionReport`) in, none lost.

`BinanceUserData.run()` subscribes over the WebSocket API (`userDataStream.subscribe.signature`,
a signed request on `ws_api_url`). Where Binance does not offer that (it refuses the handshake
or answers that the method is not supported), it falls back to the listen-key stream (a key from
`POST /api/v3/userDataStream`, `ws_url/ws/<listenKey>`, kept alive every 30 minutes). A lost
connection is reconnected as the market stream is (backoff with jitter, within the connection
budget); a planned end (the 24 h limit near, `serverShutdown`, `eventStreamTerminated`,
`listenKeyExpired`) at once. A wrong key or signature ends `run()` with AuthError.

Nothing said while disconnected is lost: after each subscription `on_connected` runs (the
broker's `reconcile()`, which asks Binance about every unfinished order and its trades), while
new events already flow in; fills are deduplicated by trade id, so the overlap doubles nothing.
It is retried until it succeeds; `synced` is set from then until the connection ends.
`FeedStale` and `FeedRestored` tell people when order updates stop and resume.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import aiohttp
import msgspec
import structlog

from trading_bot.core.clock import Clock
from trading_bot.core.hub import EventHub
from trading_bot.venues.backoff import Backoff
from trading_bot.venues.binance.config import BinanceSettings
from trading_bot.venues.binance.rest import BinanceRest, decode_reply, signed_ws_params
from trading_bot.venues.binance.schemas import (
    EventHead,
    ExecutionReport,
    ListenKey,
    Subscribed,
    WsApiFrame,
)
from trading_bot.venues.binance.stream import CLOSE_TIMEOUT_S, ConnectBudget, EndReason
from trading_bot.venues.errors import AuthError, TemporaryError, VenueError
from trading_bot.venues.health import StreamHealth

log = structlog.get_logger("trading_bot.binance")

LISTEN_KEY_PATH = "/api/v3/userDataStream"
SUBSCRIBE = "userDataStream.subscribe.signature"
WS_API = "websocket api"
LISTEN_KEY = "listen key"
_AUTH_CODES = frozenset({-1022, -2014, -2015})
_TIMESTAMP_OUTSIDE_WINDOW = -1021
_ENDINGS = frozenset({"eventStreamTerminated", "serverShutdown", "listenKeyExpired"})

_frame_decoder = msgspec.json.Decoder(WsApiFrame)
_head_decoder = msgspec.json.Decoder(EventHead)
_report_decoder = msgspec.json.Decoder(ExecutionReport)

OnReport = Callable[[ExecutionReport], None]
OnConnected = Callable[[], Awaitable[None]]


class _Unsupported(Exception):
    """Binance does not offer the WebSocket API subscription here."""


@dataclass(eq=False)
class _Connection:
    ws: aiohttp.ClientWebSocketResponse
    kind: str
    keepalive: asyncio.Task[None] | None = None


class BinanceUserData:
    """Order updates of the account behind `rest`'s credentials, to `on_report` (the broker's
    `on_execution_report`); `on_connected` (the broker's `reconcile`) after each subscription."""

    def __init__(
        self,
        hub: EventHub,
        clock: Clock,
        rest: BinanceRest,
        settings: BinanceSettings,
        on_report: OnReport,
        on_connected: OnConnected,
        *,
        budget: ConnectBudget | None = None,
        use_ws_api: bool = True,
        listen_key_keepalive_s: float = 30 * 60.0,
    ) -> None:
        self.source = "binance user data"
        self.synced = asyncio.Event()
        self.mode = ""  # WS_API or LISTEN_KEY, once connected
        self.connects = 0
        self.fallbacks = 0
        self.reports = 0
        self.dropped: Counter[str] = Counter()
        self._hub = hub
        self._clock = clock
        self._rest = rest
        self._settings = settings
        self._on_report = on_report
        self._on_connected = on_connected
        self._budget = budget or ConnectBudget(settings.connects_per_5m)
        self._use_ws_api = use_ws_api
        self._keepalive_s = listen_key_keepalive_s
        self._backoff = Backoff(settings.reconnect_min_s, settings.reconnect_max_s)
        self._requests = 0
        self._health = StreamHealth(hub, clock, self.source)

    async def run(self) -> None:
        """Deliver order updates until cancelled."""
        async with aiohttp.ClientSession() as session:
            while True:
                try:
                    connection = await self._connect(session)
                except AuthError:
                    raise
                except VenueError as exc:
                    self._health.stale(
                        "reconnecting", f"cannot subscribe to order updates ({exc}); retrying"
                    )
                    await asyncio.sleep(self._backoff.next())
                    continue
                reconciling = asyncio.create_task(self._reconcile(), name="binance-reconcile")
                try:
                    end, detail = await self._consume(connection)
                finally:
                    self.synced.clear()
                    reconciling.cancel()
                    await asyncio.gather(reconciling, return_exceptions=True)
                    await self._close(connection)
                if end.planned:
                    log.info("binance user data reconnecting", reason=detail)
                    continue
                self._health.stale("reconnecting", f"order updates {end}: {detail}; reconnecting")
                await asyncio.sleep(self._backoff.next())

    # -- connecting ---------------------------------------------------------------------------

    async def _connect(self, session: aiohttp.ClientSession) -> _Connection:
        if self._use_ws_api:
            try:
                connection = await self._subscribe(session)
            except _Unsupported as exc:
                self.fallbacks += 1
                log.warning(
                    "binance websocket api subscription unavailable; using a listen key",
                    reason=str(exc),
                )
            else:
                return self._connected(connection)
        return self._connected(await self._listen(session))

    def _connected(self, connection: _Connection) -> _Connection:
        self.connects += 1
        self.mode = connection.kind
        log.info("binance user data subscribed", mode=connection.kind)
        return connection

    async def _subscribe(self, session: aiohttp.ClientSession) -> _Connection:
        credentials = self._rest.credentials
        if credentials is None:
            raise AuthError("order updates need Binance API credentials, and none were given")
        ws = await self._open(session, self._settings.ws_api_url, ws_api=True)
        subscribed = False
        try:
            for attempt in (1, 2):
                self._requests += 1
                request_id = f"subscribe-{self._requests}"
                params = signed_ws_params(
                    {
                        "apiKey": credentials.api_key,
                        "recvWindow": self._settings.recv_window_ms,
                        "timestamp": self._rest.server_now_ms(),
                    },
                    credentials.secret,
                )
                request = {"id": request_id, "method": SUBSCRIBE, "params": params}
                await ws.send_str(msgspec.json.encode(request).decode())  # a text frame
                answer = await self._answer(ws, request_id)
                if answer.status == 200 and answer.result:
                    msgspec.json.decode(answer.result, type=Subscribed)
                    subscribed = True
                    return _Connection(ws, WS_API)
                code = None if answer.error is None else answer.error.code
                message = "" if answer.error is None else answer.error.msg
                what = f"HTTP {answer.status} ({code}: {message})"
                if code == _TIMESTAMP_OUTSIDE_WINDOW and attempt == 1:
                    await self._rest.server_time()  # resync the clock offset, then again
                    continue
                if code in _AUTH_CODES or answer.status == 401:
                    raise AuthError(f"Binance refused the order updates subscription: {what}")
                if answer.status is not None and (answer.status >= 500 or answer.status == 429):
                    raise TemporaryError(f"order updates subscription failed: {what}")
                raise _Unsupported(what)
            raise TemporaryError("order updates subscription: timestamp refused twice")
        except (msgspec.DecodeError, aiohttp.ClientError, OSError) as exc:
            raise TemporaryError(f"order updates subscription failed: {exc!r}") from exc
        finally:
            if not subscribed:
                await ws.close()

    async def _answer(self, ws: aiohttp.ClientWebSocketResponse, request_id: str) -> WsApiFrame:
        try:
            async with asyncio.timeout(self._settings.request_timeout_s):
                while True:
                    message = await ws.receive()
                    if message.type not in (aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.BINARY):
                        raise TemporaryError("the connection closed before Binance answered")
                    try:
                        frame = _frame_decoder.decode(message.data)
                    except msgspec.DecodeError as exc:
                        self._drop("invalid_json", str(exc), message.data)
                        continue
                    if frame.id == request_id:
                        return frame
        except TimeoutError as exc:
            raise TemporaryError("Binance did not answer the subscription in time") from exc

    async def _listen(self, session: aiohttp.ClientSession) -> _Connection:
        body = await self._rest.keyed("POST", LISTEN_KEY_PATH)
        key = decode_reply(LISTEN_KEY_PATH, body, ListenKey).listen_key
        ws = await self._open(session, f"{self._settings.ws_url}/ws/{key}", ws_api=False)
        keepalive = asyncio.create_task(self._keep_alive(key), name="binance-listen-key")
        return _Connection(ws, LISTEN_KEY, keepalive)

    async def _keep_alive(self, key: str) -> None:
        while True:
            await asyncio.sleep(self._keepalive_s)
            try:
                await self._rest.keyed("PUT", LISTEN_KEY_PATH, {"listenKey": key})
            except VenueError as exc:
                log.warning("binance listen key keepalive failed", error=str(exc))

    async def _open(
        self, session: aiohttp.ClientSession, url: str, *, ws_api: bool
    ) -> aiohttp.ClientWebSocketResponse:
        await self._budget.acquire()
        try:
            async with asyncio.timeout(self._settings.request_timeout_s):
                return await session.ws_connect(
                    url,
                    autoping=True,
                    heartbeat=self._settings.stale_after_s,
                    timeout=aiohttp.ClientWSTimeout(ws_close=CLOSE_TIMEOUT_S),
                )
        except aiohttp.WSServerHandshakeError as exc:
            if ws_api and exc.status in (400, 404, 410):
                raise _Unsupported(f"handshake refused: HTTP {exc.status}") from exc
            raise TemporaryError(f"Binance refused order updates: HTTP {exc.status}") from exc
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            raise TemporaryError(f"cannot connect for order updates: {exc!r}") from exc

    async def _close(self, connection: _Connection) -> None:
        if connection.keepalive is not None:
            connection.keepalive.cancel()
            await asyncio.gather(connection.keepalive, return_exceptions=True)
        with contextlib.suppress(Exception):
            await connection.ws.close()

    # -- events -------------------------------------------------------------------------------

    async def _reconcile(self) -> None:
        backoff = Backoff(self._settings.reconnect_min_s, self._settings.reconnect_max_s)
        while True:
            try:
                await self._on_connected()
            except Exception as exc:  # logged and retried: the stream goes on meanwhile
                log.warning("binance reconciliation failed; retrying", error=str(exc))
                await asyncio.sleep(backoff.next())
                continue
            self._backoff.reset()
            self.synced.set()
            self._health.restored()
            return

    async def _consume(self, connection: _Connection) -> tuple[EndReason, str]:
        loop = asyncio.get_running_loop()
        expires = loop.time() + self._settings.connection_max_age_s
        while True:
            try:
                async with asyncio.timeout_at(expires):
                    message = await connection.ws.receive()
            except TimeoutError:
                return EndReason.AGED, "connection near Binance's 24 h limit"
            if message.type not in (aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.BINARY):
                return EndReason.LOST, f"connection closed ({message.type.name})"
            ending = self._handle(connection, message.data)
            if ending is not None:
                return EndReason.SHUTDOWN, ending

    def _handle(self, connection: _Connection, data: str | bytes) -> str | None:
        """Deliver one frame's order update; the reason, if the frame ends the stream."""
        try:
            if connection.kind == WS_API:
                event = _frame_decoder.decode(data).event
                if not event:  # an answer to a request
                    return None
                raw: bytes | str | msgspec.Raw = event
            else:
                raw = data
            kind = _head_decoder.decode(raw).e
            if kind in _ENDINGS:
                return f"Binance ended the stream ({kind})"
            if kind != "executionReport":  # balances, order lists: not needed here
                return None
            report = _report_decoder.decode(raw)
        except msgspec.ValidationError as exc:
            self._drop("unexpected_shape", str(exc), data)
            return None
        except msgspec.DecodeError as exc:
            self._drop("invalid_json", str(exc), data)
            return None
        self.reports += 1
        try:
            self._on_report(report)
        except Exception as exc:  # fail loud, keep running
            log.error("binance order update handler failed", report=str(report), exc_info=exc)
        return None

    def _drop(self, reason: str, error: str, frame: object) -> None:
        self.dropped[reason] += 1
        log.warning(
            "binance user data frame dropped", reason=reason, error=error, frame=str(frame)[:200]
        )
