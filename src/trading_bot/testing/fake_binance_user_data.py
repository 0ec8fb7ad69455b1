"""The fake Binance's user data stream: the account's events, pushed to whoever subscribed.

Two ways in, as on Binance: the WebSocket API (`/ws-api/v3`; a signed
`userDataStream.subscribe.signature` request, then events as `{"subscriptionId": n, "event":
{...}}`) and the listen-key stream (`POST/PUT/DELETE /api/v3/userDataStream` with the API key,
then `/ws/<listenKey>` with the bare events). Each connection's frames go out in order; events
pushed while nobody is connected are lost, as on Binance, which is what reconciliation is for.
`FakeBinanceTrading` owns one and pushes its executionReport, listStatus and
outboundAccountPosition events through it.

Faults: `faults.drop_after_events` (cut every connection, once, when that many events have
been delivered), `faults.duplicate_every`, `drop()` and `refuse_ws_api(n)` (subscriptions
answered "not supported", so that clients fall back to a listen key).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode

import orjson
from aiohttp import WSMsgType, web

API_KEY_HEADER = "X-MBX-APIKEY"
LISTEN_KEY_PATH = "/api/v3/userDataStream"


class Refused(Exception):
    """Binance's refusal of a request: HTTP `status`, error `code` and `msg`."""

    def __init__(self, code: int, msg: str, status: int = 400) -> None:
        super().__init__(msg)
        self.code, self.msg, self.status = code, msg, status


@dataclass
class UserStreamFaults:
    drop_after_events: int | None = None  # cut every connection (once) at this many events
    duplicate_every: int | None = None  # push every Nth event twice


@dataclass(eq=False)
class _Connection:
    ws: web.WebSocketResponse
    transport: asyncio.Transport | None
    listen_key: str | None = None  # None: a WebSocket API connection
    subscriptions: set[int] = field(default_factory=set)
    outbox: asyncio.Queue[tuple[str, bool]] = field(default_factory=asyncio.Queue)


class FakeUserDataStream:
    """`check_time(params)` raises `Refused` (-1021) for a timestamp outside recvWindow."""

    def __init__(
        self,
        api_key: str,
        secret: str,
        check_time: Callable[[Mapping[str, str]], None],
        faults: UserStreamFaults | None = None,
    ) -> None:
        self.api_key = api_key
        self.secret = secret
        self.faults = faults or UserStreamFaults()
        self._check_time = check_time
        # observations for tests
        self.events_sent = 0  # events delivered, on all connections
        self.subscriptions = 0
        self.listen_keys = 0
        self.refusals: Counter[int] = Counter()
        # state
        self._connections: list[_Connection] = []
        self._listen_key: str | None = None
        self._refuse_ws_api = 0
        self._pushed = 0
        self._next_subscription = 0

    @property
    def connections(self) -> int:
        return len(self._connections)

    def mount(self, app: web.Application) -> None:
        app.router.add_get("/ws-api/v3", self._ws_api)
        app.router.add_get("/ws/{listen_key}", self._listen_key_stream)
        for method in ("POST", "PUT", "DELETE"):
            app.router.add_route(method, LISTEN_KEY_PATH, self._listen_key_call)

    # -- faults -------------------------------------------------------------------------------

    def drop(self) -> None:
        """Cut every user data connection at once, without a close frame."""
        for connection in list(self._connections):
            if connection.transport is not None:
                connection.transport.abort()

    def refuse_ws_api(self, count: int) -> None:
        """Answer the next `count` WebSocket API subscriptions as not supported (-1020)."""
        self._refuse_ws_api = count

    # -- pushing ------------------------------------------------------------------------------

    def push(self, event: dict[str, Any]) -> None:
        """Send `event` to every subscriber; nobody listening, nobody gets it."""
        self._pushed += 1
        every = self.faults.duplicate_every
        copies = 2 if every and self._pushed % every == 0 else 1
        for connection in self._connections:
            if connection.listen_key is not None:
                frames = [_json(event)]
            else:
                frames = [
                    _json({"subscriptionId": s, "event": event}) for s in connection.subscriptions
                ]
            for frame in frames:
                for _ in range(copies):
                    connection.outbox.put_nowait((frame, True))

    async def _pump(self, connection: _Connection) -> None:
        """Send a connection's frames in order; count events, cut on `drop_after_events`."""
        while True:
            frame, is_event = await connection.outbox.get()
            if connection.ws.closed:
                return
            try:
                await connection.ws.send_str(frame)
            except (ConnectionError, RuntimeError):
                return
            if not is_event:
                continue
            self.events_sent += 1
            limit = self.faults.drop_after_events
            if limit is not None and self.events_sent >= limit:
                self.faults.drop_after_events = None
                self.drop()
                return

    # -- endpoints ----------------------------------------------------------------------------

    async def _serve(self, request: web.Request, connection: _Connection) -> web.WebSocketResponse:
        ws = connection.ws
        await ws.prepare(request)
        self._connections.append(connection)
        pump = asyncio.create_task(self._pump(connection))
        try:
            async for message in ws:
                if message.type is WSMsgType.TEXT and connection.listen_key is None:
                    answer = self._ws_api_call(connection, message.data)
                    connection.outbox.put_nowait((_json(answer), False))
        finally:
            pump.cancel()
            self._connections.remove(connection)
        return ws

    async def _ws_api(self, request: web.Request) -> web.StreamResponse:
        return await self._serve(request, _Connection(web.WebSocketResponse(), request.transport))

    async def _listen_key_stream(self, request: web.Request) -> web.StreamResponse:
        key = request.match_info["listen_key"]
        if self._listen_key is None or key != self._listen_key:
            return error_response(400, -1125, "This listenKey does not exist.")
        connection = _Connection(web.WebSocketResponse(), request.transport, listen_key=key)
        return await self._serve(request, connection)

    def _ws_api_call(self, connection: _Connection, text: str) -> dict[str, Any]:
        try:
            request = orjson.loads(text)
            request_id, method = request.get("id"), request.get("method")
            params = request.get("params") or {}
        except (orjson.JSONDecodeError, AttributeError):
            return _ws_error(None, Refused(-1100, "Malformed request."))
        if method == "userDataStream.unsubscribe":
            connection.subscriptions.clear()
            return {"id": request_id, "status": 200, "result": {}}
        if method != "userDataStream.subscribe.signature" or self._refuse_ws_api > 0:
            self._refuse_ws_api = max(0, self._refuse_ws_api - 1)
            return _ws_error(request_id, Refused(-1020, "This operation is not supported."))
        try:
            check_key(str(params.get("apiKey", "")), self.api_key)
            values = {str(k): str(v) for k, v in params.items()}
            given = values.pop("signature", "")
            payload = urlencode(sorted(values.items()), quote_via=quote)
            if not hmac.compare_digest(sign(payload, self.secret), given):
                raise Refused(-1022, "Signature for this request is not valid.")
            self._check_time(values)
        except Refused as exc:
            self.refusals[exc.code] += 1
            return _ws_error(request_id, exc)
        subscription = self._next_subscription
        self._next_subscription += 1
        connection.subscriptions.add(subscription)
        self.subscriptions += 1
        return {"id": request_id, "status": 200, "result": {"subscriptionId": subscription}}

    async def _listen_key_call(self, request: web.Request) -> web.Response:
        try:
            check_key(request.headers.get(API_KEY_HEADER), self.api_key)
            if request.method == "POST":
                if self._listen_key is None:
                    self.listen_keys += 1
                    seed = f"listen-key-{self.listen_keys}".encode()
                    self._listen_key = hashlib.sha256(seed).hexdigest()
                return web.json_response({"listenKey": self._listen_key})
            if self._listen_key is None or request.query.get("listenKey") != self._listen_key:
                raise Refused(-1125, "This listenKey does not exist.")
        except Refused as exc:
            self.refusals[exc.code] += 1
            return error_response(exc.status, exc.code, exc.msg)
        if request.method == "DELETE":
            self._listen_key = None
            for connection in list(self._connections):
                if connection.listen_key is not None and connection.transport is not None:
                    connection.transport.abort()
        return web.json_response({})


def check_key(given: str | None, expected: str) -> None:
    if not given:
        raise Refused(-2014, "API-key format invalid.", 401)
    if not hmac.compare_digest(given, expected):
        raise Refused(-2015, "Invalid API-key, IP, or permissions for action.", 401)


def sign(payload: str, secret: str) -> str:
    return hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()


def error_response(status: int, code: int, msg: str) -> web.Response:
    return web.json_response({"code": code, "msg": msg}, status=status)


def _ws_error(request_id: object, exc: Refused) -> dict[str, Any]:
    return {"id": request_id, "status": exc.status, "error": {"code": exc.code, "msg": exc.msg}}


def _json(value: Any) -> str:
    return orjson.dumps(value).decode()
