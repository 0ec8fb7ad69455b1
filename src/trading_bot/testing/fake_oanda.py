"""A fake OANDA v20 on 127.0.0.1 that speaks the real protocol, for tests.

It serves `GET /v3/accounts/{id}/instruments`, `GET /v3/instruments/{instrument}/candles`
(`price` M/B/A/BA/MBA, any granularity S5..D, `from`/`to`/`count` with OANDA's rules, the newest
candle `complete: false` while it forms) and the pricing stream
`GET /v3/accounts/{id}/pricing/stream?instruments=...` (chunked newline-delimited JSON: the
latest price on connecting, then every PRICE, and a HEARTBEAT every `heartbeat_s`). Every
request must carry `Authorization: Bearer <token>`; errors are OANDA's bodies
(`{"errorMessage": ...}`). The production client runs unchanged against it: only its URLs
differ (`fake.settings()`).

Its market replays candle frames (mid prices, with OANDA's `spread` column if present). Each
candle becomes four prices in a fixed order, a quarter of the candle apart: open, then low and
high (high first on a falling candle), then close. The candles endpoint builds its candles from
the very prices it has streamed, so a candle built from the stream equals the endpoint's, and
its volume is OANDA's: the count of prices. Candles opening before `live_from_ms` are history;
the later ones stream `pace_s` apart per price, starting with the first stream connection (or
`start_market()`), whether anyone listens or not, while the fake's simulated clock
(`fake.clock`) follows the market time. `finished` is set once the last candle has closed.

Faults on demand: `faults` (cut each stream connection after N lines, a malformed line before
every Nth price), `mute()` (silence: no prices nor heartbeats on the open connections),
`drop_connections()`, `refuse_streams(n)` (503), `fail_rest(status, ...)` (429 with
`Retry-After`, 5xx), `before(path, action)` (something happens just as a request arrives), and
a weekend: `close_market()` (a non-tradeable price, then heartbeats only) until
`open_market()`.

The trading half (orders, trades, positions, the transactions stream) is
`fake_oanda_trading.FakeOandaTrading`, which mounts its routes on this fake and trades at its
prices (`price_listeners`, `quote()`).

Example, in a user's own test::

    async def test_my_bot_gets_every_candle(shared_data):
        frame = relabel(load_candles(shared_data / "oanda-EURUSD-1h.csv.gz").iloc[:300],
                        5_000, 1_700_000_000_000)
        async with FakeOanda({"EUR/USD": frame}, pace_s=0.001, heartbeat_s=0.05) as fake:
            market = OandaMarket(fake.settings(timeframe="5s", settle_s=0))
            await record_candles(market, tmp_path / "eurusd.csv", asyncio.Event(),
                                 until_ms=...)  # the last candle's open time
"""

from __future__ import annotations

import asyncio
import itertools
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import numpy as np
import orjson
import pandas as pd
from aiohttp import web

from trading_bot.core.clock import SimulatedClock
from trading_bot.testing.fake_oanda_prices import (
    GRANULARITY_S,
    PriceSeries,
    components,
    instrument_json,
    parse_time,
)
from trading_bot.testing.loopback import LoopbackServer
from trading_bot.venues.oanda.config import OandaSettings
from trading_bot.venues.oanda.schemas import ms_rfc3339

TOKEN = "fake-oanda-token"
ACCOUNT = "101-004-1234567-001"
MAX_COUNT = 5000
Handler = Any  # aiohttp's middleware handler type
# (instrument, time, bid, ask) of every price the market makes
PriceListener = Callable[[str, int, Decimal, Decimal], None]


@dataclass
class StreamFaults:
    cut_after: int | None = None  # abort each stream connection after this many lines
    malformed_every: int | None = None  # a malformed line before every Nth price


@dataclass(frozen=True)
class RequestRecord:
    path: str
    params: dict[str, str]
    time_ms: int  # on the fake's clock
    status: int


@dataclass
class _RestFault:
    status: int
    times: int
    retry_after: int | None
    path: str | None  # a part of the path, or None: any
    skip: int  # matching requests let through first


@dataclass(eq=False)
class _Client:
    response: web.StreamResponse
    transport: asyncio.Transport | None
    instruments: frozenset[str]
    sent: int = 0
    muted: bool = False
    closed: bool = False


class FakeOanda(LoopbackServer):
    shutdown_timeout_s = 1.0

    def __init__(
        self,
        markets: Mapping[str, pd.DataFrame],
        *,
        pace_s: float = 0.0,
        heartbeat_s: float = 5.0,
        live_from_ms: int | None = None,
        faults: StreamFaults | None = None,
        token: str = TOKEN,
        account_id: str = ACCOUNT,
        clock: SimulatedClock | None = None,
    ) -> None:
        super().__init__()
        self.pace_s = pace_s
        self.heartbeat_s = heartbeat_s
        self.faults = faults or StreamFaults()
        self.token = token
        self.account_id = account_id
        self._series = {s.name: s for s in (PriceSeries(sym, f) for sym, f in markets.items())}
        first = min(int(s.times[0]) for s in self._series.values())
        live_from = first if live_from_ms is None else live_from_ms
        for s in self._series.values():
            s.shown = int(np.searchsorted(s.times, live_from))
        self.clock = clock or SimulatedClock(live_from)
        # observations for tests
        self.requests: list[RequestRecord] = []
        self.connections = 0
        self.refused = 0
        self.prices = 0  # prices the market has made
        self.sent_faults: Counter[str] = Counter()
        self.finished = asyncio.Event()
        self.tradeable = True
        self.price_listeners: list[PriceListener] = []
        # state
        self._open = asyncio.Event()
        self._open.set()
        self._connection = asyncio.Condition()
        self._clients: list[_Client] = []
        self._refuse = 0
        self._rest_faults: list[_RestFault] = []
        self._before: list[tuple[str, Callable[[], Awaitable[None]]]] = []
        self._market: asyncio.Task[None] | None = None

    # -- lifecycle ----------------------------------------------------------------------------

    def _application(self) -> web.Application:
        app = web.Application(middlewares=[self._rules])
        app.router.add_get("/v3/accounts/{account}/instruments", self._instruments)
        app.router.add_get("/v3/instruments/{instrument}/candles", self._candles)
        app.router.add_get("/v3/accounts/{account}/pricing/stream", self._stream)
        return app

    async def close(self) -> None:
        if self._market is not None:
            self._market.cancel()
        self.drop_connections()
        await super().close()

    @property
    def url(self) -> str:
        return self.origin

    def settings(self, **overrides: Any) -> OandaSettings:
        """Client settings pointing at the fake (`overrides`: any other OandaSettings field)."""
        given = {
            "rest_url": self.url,
            "stream_url": self.url,
            "account_id": self.account_id,
            "token": self.token,
        }
        return OandaSettings.model_validate({**given, **overrides})

    @property
    def instruments(self) -> frozenset[str]:
        """OANDA's names of the instruments the fake trades: "EUR_USD"."""
        return frozenset(self._series)

    def quote(self, name: str) -> tuple[int, Decimal, Decimal] | None:
        """(time, bid, ask) of the instrument's latest price, None before its first."""
        series = self._series[name]
        if not series.shown:
            return None
        i = series.shown - 1
        bid, ask = series.price(i, "bid"), series.price(i, "ask")
        return int(series.times[i]), Decimal(bid).scaleb(-6), Decimal(ask).scaleb(-6)

    def account_error(self, request: web.Request) -> web.Response | None:
        """OANDA's answer to a request for another account, or None."""
        if request.match_info["account"] != self.account_id:
            return error(400, "Invalid value specified for 'accountID'", "INVALID_ACCOUNT_ID")
        return None

    async def connected(self, count: int) -> None:
        """Return once `count` stream connections have been accepted in all."""
        async with self._connection:
            await self._connection.wait_for(lambda: self.connections >= count)

    def start_market(self) -> None:
        """Start streaming now (it otherwise starts with the first stream connection)."""
        if self._market is None:
            self._market = asyncio.create_task(self._run_market(), name="fake-oanda-market")

    # -- faults -------------------------------------------------------------------------------

    def mute(self) -> None:
        """Silence: the open connections stay open but receive nothing, not even heartbeats."""
        for client in self._clients:
            client.muted = True

    def drop_connections(self) -> None:
        """Cut every stream connection at once."""
        for client in list(self._clients):
            _abort(client)

    def refuse_streams(self, count: int) -> None:
        """Answer the next `count` stream connection attempts with HTTP 503."""
        self._refuse = count

    def fail_rest(
        self,
        status: int,
        *,
        times: int = 1,
        retry_after: int | None = None,
        path: str | None = None,
        skip: int = 0,
    ) -> None:
        """Answer `times` REST requests (whose path contains `path`, or any) with `status`,
        after letting `skip` of them through."""
        self._rest_faults.append(_RestFault(status, times, retry_after, path, skip))

    def before(self, path: str, action: Callable[[], Awaitable[None]]) -> None:
        """Await `action()` before answering the next request whose path contains `path`:
        what happens at the venue just as a client gets there (a stop hit, say)."""
        self._before.append((path, action))

    async def close_market(self) -> None:
        """The weekend: a last price that is not tradeable, then heartbeats only."""
        self.tradeable = False
        self._open.clear()
        for series in self._series.values():
            if series.shown:
                await self._broadcast(series, self._price_line(series, series.shown - 1))

    def open_market(self) -> None:
        self.tradeable = True
        self._open.set()

    # -- market -------------------------------------------------------------------------------

    def lines(self) -> Iterator[tuple[str, str]]:
        """(instrument, line) of every live price in market order, moving the market and its
        clock as it goes. The stream sends these; benchmarks use them as real lines."""
        pending = [
            (int(s.times[i]), s.name, i)
            for s in self._series.values()
            for i in range(s.shown, len(s.times))
        ]
        pending.sort()
        for time_ms, name, i in pending:
            series = self._series[name]
            self.clock.advance_to(time_ms)
            series.shown = i + 1
            self.prices += 1
            if self.price_listeners:
                _, bid, ask = self.quote(name) or (0, Decimal(0), Decimal(0))
                for listener in self.price_listeners:
                    listener(name, time_ms, bid, ask)
            yield name, self._price_line(series, i)
        for series in self._series.values():
            self.clock.advance_to(int(series.ends[-1]))

    async def _run_market(self) -> None:
        """Send the prices `pace_s` apart on average (short sleeps are made up for later)."""
        loop = asyncio.get_running_loop()
        due = loop.time()
        lines = self.lines()
        while True:
            await self._open.wait()
            item = next(lines, None)
            if item is None:
                break
            series = self._series[item[0]]
            await self._broadcast(series, item[1], count=True)
            due = max(due + self.pace_s, loop.time() - 0.05)  # after a stall, do not rush
            await asyncio.sleep(max(0.0, due - loop.time()))
        self.finished.set()

    def _price_line(self, series: PriceSeries, i: int) -> str:
        bid, ask = series.text(series.price(i, "bid")), series.text(series.price(i, "ask"))
        return _json(
            {
                "type": "PRICE",
                "time": ms_rfc3339(int(series.times[i])),
                "bids": [{"price": bid, "liquidity": 10000000}],
                "asks": [{"price": ask, "liquidity": 10000000}],
                "closeoutBid": bid,
                "closeoutAsk": ask,
                "status": "tradeable" if self.tradeable else "non-tradeable",
                "tradeable": self.tradeable,
                "instrument": series.name,
            }
        )

    async def _broadcast(self, series: PriceSeries, line: str, count: bool = False) -> None:
        faults = self.faults
        malformed = (
            count
            and faults.malformed_every is not None
            and self.prices % faults.malformed_every == 0
        )
        for client in list(self._clients):
            if series.name not in client.instruments or client.muted:
                continue
            if malformed:
                self.sent_faults["malformed"] += 1
                await self._send(client, _malformed(line, self.sent_faults["malformed"]))
            await self._send(client, line)

    async def _send(self, client: _Client, line: str) -> None:
        if client.closed:
            return
        try:
            await client.response.write(line.encode() + b"\n")
        except (ConnectionError, RuntimeError):
            _abort(client)
            return
        client.sent += 1
        if self.faults.cut_after and client.sent >= self.faults.cut_after:
            self.sent_faults["cut"] += 1
            _abort(client)

    # -- stream endpoint ----------------------------------------------------------------------

    async def _stream(self, request: web.Request) -> web.StreamResponse:
        refusal = self.account_error(request) or self._instruments_error(request)
        if refusal is not None:
            return refusal
        if self._refuse > 0:
            self._refuse -= 1
            self.refused += 1
            return error(503, "Service Unavailable")
        names = frozenset(request.query["instruments"].split(","))
        response = web.StreamResponse(headers={"Content-Type": "application/octet-stream"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        client = _Client(response, request.transport, names)
        self._clients.append(client)
        async with self._connection:
            self.connections += 1
            self._connection.notify_all()
        try:
            for name in sorted(names):  # the latest price first, as OANDA does
                series = self._series[name]
                if series.shown:
                    await self._send(client, self._price_line(series, series.shown - 1))
            self.start_market()
            while not client.closed:
                await asyncio.sleep(self.heartbeat_s)
                if not client.muted:
                    now = ms_rfc3339(self.clock.now_ms())
                    await self._send(client, _json({"type": "HEARTBEAT", "time": now}))
        finally:
            self._clients.remove(client)
        return response

    # -- REST ---------------------------------------------------------------------------------

    @web.middleware
    async def _rules(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """The token and injected failures around every endpoint."""
        response: web.StreamResponse
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            response = error(401, "Insufficient authorization to perform request.")
        else:
            hook = next((h for h in self._before if h[0] in request.path), None)
            if hook is not None:
                self._before.remove(hook)
                await hook[1]()
            response = self._injected(request.path) or await handler(request)
        self.requests.append(
            RequestRecord(request.path, dict(request.query), self.clock.now_ms(), response.status)
        )
        return response

    def _injected(self, path: str) -> web.Response | None:
        for fault in self._rest_faults:
            if fault.path is not None and fault.path not in path:
                continue
            if fault.skip:
                fault.skip -= 1
                return None
            fault.times -= 1
            if fault.times <= 0:
                self._rest_faults.remove(fault)
            headers = {} if fault.retry_after is None else {"Retry-After": str(fault.retry_after)}
            message = "Rate limit violation" if fault.status == 429 else "An injected failure."
            return error(fault.status, message, headers=headers)
        return None

    def _instruments_error(self, request: web.Request) -> web.Response | None:
        names = request.query.get("instruments", "")
        if not names or any(n not in self._series for n in names.split(",")):
            return error(400, "Invalid value specified for 'instruments'")
        return None

    async def _instruments(self, request: web.Request) -> web.Response:
        refusal = self.account_error(request)
        if refusal is not None:
            return refusal
        wanted = request.query.get("instruments")
        names = list(self._series) if wanted is None else wanted.split(",")
        if any(n not in self._series for n in names):
            return error(400, "Invalid value specified for 'instruments'")
        return web.json_response(
            {
                "instruments": [instrument_json(self._series[n]) for n in names],
                "lastTransactionID": "1",
            },
            dumps=_json,
        )

    async def _candles(self, request: web.Request) -> web.Response:
        series = self._series.get(request.match_info["instrument"])
        if series is None:
            return error(400, "Invalid value specified for 'instrument'")
        query = request.query
        seconds = GRANULARITY_S.get(query.get("granularity", "S5"))
        parts = components(query.get("price", "M"))
        if seconds is None or parts is None:
            return error(400, "Invalid value specified for 'granularity' or 'price'")
        try:
            count = int(query.get("count", "500"))
            start = parse_time(query["from"]) if "from" in query else None
            end = parse_time(query["to"]) if "to" in query else None
        except ValueError:
            return error(400, "Invalid value specified for a parameter")
        if "count" in query and start is not None and end is not None:
            return error(400, "'count' may not be specified with both 'from' and 'to'")
        if not 1 <= count <= MAX_COUNT:
            return error(400, f"Maximum value for 'count' exceeded ({MAX_COUNT})")
        include_first = query.get("includeFirst", "true") == "true"
        tf = seconds * 1000
        candles = self._buckets(series, tf, start, end, count, include_first)
        body = {
            "instrument": series.name,
            "granularity": query.get("granularity", "S5"),
            "candles": [self._candle(series, tf, c, parts) for c in candles],
        }
        return web.json_response(body, dumps=_json)

    def _buckets(
        self,
        series: PriceSeries,
        tf: int,
        start: int | None,
        end: int | None,
        count: int,
        include_first: bool,
    ) -> list[tuple[int, int, int]]:
        """(open time, first price, price after the last) of the candles asked for, built
        from the prices shown so far."""
        times = series.times[: series.shown]
        if start is not None:
            first = start - start % tf + (0 if include_first else tf)
            lo = int(np.searchsorted(times, first))
            hi = len(times) if end is None else int(np.searchsorted(times, end))
        else:
            hi = len(times) if end is None else int(np.searchsorted(times, end))
            candle_opens = np.unique(times[:hi] - times[:hi] % tf)
            first_open = candle_opens[-count] if len(candle_opens) > count else 0
            lo = int(np.searchsorted(times, first_open))
        opens = times[lo:hi] - times[lo:hi] % tf
        starts = np.flatnonzero(np.diff(opens, prepend=-1)) + lo
        bounds = [*starts.tolist(), hi]
        buckets = [(int(times[a] - times[a] % tf), a, b) for a, b in itertools.pairwise(bounds)]
        return buckets[:count] if start is not None else buckets[-count:]

    def _candle(
        self, series: PriceSeries, tf: int, bucket: tuple[int, int, int], parts: list[str]
    ) -> dict[str, Any]:
        open_time, a, b = bucket
        candle: dict[str, Any] = {
            "complete": open_time + tf <= self.clock.now_ms(),
            "volume": b - a,
            "time": ms_rfc3339(open_time),
        }
        for component in parts:
            values = [series.price(i, component) for i in range(a, b)]
            candle[component] = {
                "o": series.text(values[0]),
                "h": series.text(max(values)),
                "l": series.text(min(values)),
                "c": series.text(values[-1]),
            }
        return candle


def _malformed(line: str, n: int) -> str:
    kinds = (
        line[: len(line) // 2],  # truncated
        '{"type":"PRICE","instrument":"EUR_USD"}',  # no time
        line.replace('"price":"', '"price":"x', 1),  # a price that is not a number
        '{"type":"MYSTERY","time":"2020-01-01T00:00:00.000000000Z"}',  # unknown type
        "not json at all",
    )
    return kinds[n % len(kinds)]


def _abort(client: _Client) -> None:
    client.muted = client.closed = True
    if client.transport is not None:
        client.transport.abort()


def _json(value: Any) -> str:
    return orjson.dumps(value).decode()


def error(
    status: int, message: str, code: str | None = None, headers: Mapping[str, str] | None = None
) -> web.Response:
    """An answer with OANDA's error body."""
    body: dict[str, str] = {"errorMessage": message}
    if code is not None:
        body["errorCode"] = code
    return web.json_response(body, status=status, headers=headers)
