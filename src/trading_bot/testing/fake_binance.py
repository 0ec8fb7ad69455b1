"""A fake Binance spot venue on 127.0.0.1 that speaks the real protocol, for tests.

It serves REST `/api/v3/time`, `/api/v3/exchangeInfo` and `/api/v3/klines` (Binance's parameter
semantics, numbers as strings, request weights with the `X-MBX-USED-WEIGHT-1M` header, 429 and
then a 418 ban for clients that keep asking, with `Retry-After`) and the combined market streams
`/stream?streams=btcusdt@kline_1m/...` (envelopes, kline payloads with every field, ping frames
whose pongs it checks). The production client runs unchanged against it: only its URLs differ
(`fake.settings()`).

Its market replays candle frames. Candles opening before `live_from_ms` are history (REST only);
each later one is streamed as `updates_per_candle - 1` forming updates then its closing update,
while the fake's simulated clock (`fake.clock`, which it advances) follows the market time. The
market starts with the first stream connection and then runs on whether anyone listens, as the
real one does; `finished` is set when the last candle has closed.

Faults on demand: `faults` (every N messages: drop the connection, duplicate, reorder, lose, or
insert a malformed frame), `pace_s` (delay between updates), `mute()` (silence on the open
connections), `announce_shutdown()`, `drop_connections()`, `refuse_streams(n)`,
`fail_rest(status, ...)` (429/418 with `Retry-After`, 5xx), `rest_delay_s` and `clock_skew_ms`;
`pause_market()` and `resume_market()` hold and release the market itself. Besides klines it
streams `<symbol>@aggTrade` (each update's close as a trade) and `<symbol>@bookTicker` (a tick
either side of it) to those who subscribe.
`relabel()` turns real candles into a fast series (5m data as 1s klines); `updates()` yields
the frames the market sends, for benchmarks.

Extensions (the trading half, `fake_binance_trading`) add their routes with `mount()` before the
fake starts, and follow the market through `price_listeners`, called with every update.

Example, in a user's own test::

    async def test_my_strategy_gets_every_candle(shared_data):
        frame = load_candles(shared_data / "binance-BTCUSDT-5m.csv.gz").iloc[:300]
        hub = EventHub()
        processor = DataProcessor(hub)
        async with FakeBinance({"BTC/USDT": frame}, "5m", pace_s=0.001) as fake:
            settings = fake.settings()
            async with BinanceRest(settings, fake.clock) as rest:
                feed = BinanceFeed(
                    hub, fake.clock, rest, settings, ["BTC/USDT"], "5m",
                    lambda symbol: processor.last_closed_time(symbol, 300_000),
                )
                task = asyncio.create_task(feed.run())
                await fake.finished.wait()  # every candle has been sent
                ...  # await your strategy's last candle, then check what it did
                task.cancel()
"""

from __future__ import annotations

import asyncio
import math
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import numpy as np
import orjson
import pandas as pd
from aiohttp import WSMsgType, web

from trading_bot.core.clock import SimulatedClock
from trading_bot.data.files import frame_to_arrays, infer_timeframe_ms
from trading_bot.data.instruments import price_decimals
from trading_bot.data.timeframes import parse_timeframe
from trading_bot.testing.loopback import LoopbackServer
from trading_bot.venues.binance.config import BinanceSettings

WEIGHT_HEADER = "X-MBX-USED-WEIGHT-1M"
WEIGHTS = {"/api/v3/time": 1, "/api/v3/exchangeInfo": 20, "/api/v3/klines": 2}
MINUTE_MS = 60_000
BAN_MS = 120_000
Handler = Any  # aiohttp's middleware handler type
# (venue symbol, candle open time, time now, open, high, low, close of the candle so far)
PriceListener = Callable[[str, int, int, float, float, float, float], None]


@dataclass(frozen=True)
class SymbolRules:
    """A fake market's assets and price tick (its lot step is `LOT_STEP`)."""

    base: str
    quote: str
    tick: Decimal


LOT_STEP = Decimal("0.00001")
MIN_NOTIONAL = Decimal(5)


@dataclass
class StreamFaults:
    """Stream faults by message count. `drop_after` counts per connection; the others count
    the market's messages, so every connection sees them at the same points."""

    drop_after: int | None = None  # abort each connection after this many messages
    duplicate_every: int | None = None  # send every Nth message twice
    reorder_every: int | None = None  # send every Nth message after the one following it
    malformed_every: int | None = None  # send a malformed frame before every Nth message
    lose_every: int | None = None  # never send every Nth message, as if lost upstream


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
    path: str | None
    skip: int


@dataclass(eq=False)
class _Client:
    ws: web.WebSocketResponse
    transport: asyncio.Transport | None
    streams: frozenset[str]
    sent: int = 0
    muted: bool = False
    held: str | None = None
    pings: set[bytes] = field(default_factory=set)


class _Series:
    """One symbol's candles, what of them the market has shown, and its wire formats."""

    def __init__(self, symbol: str, frame: pd.DataFrame, interval: str) -> None:
        self.base, _, self.quote = symbol.partition("/")
        self.venue = self.base + self.quote
        self.stream = f"{self.venue.lower()}@kline_{interval}"
        self.book_stream = f"{self.venue.lower()}@bookTicker"
        self.trade_stream = f"{self.venue.lower()}@aggTrade"
        self.tick = Decimal(1).scaleb(-price_decimals(frame))
        times, *columns = frame_to_arrays(frame)
        self.times = times
        self.ohlcv = [c.tolist() for c in columns]
        self.trades = [50 + (i * 7919) % 200 for i in range(len(times))]
        self.first_trade = np.cumsum([0, *self.trades]).tolist()
        self.closed = 0  # candles [0, closed) have closed
        self.forming: tuple[int, int] | None = None  # (candle, update) being formed

    def values(self, i: int, k: int, n: int) -> tuple[float, float, float, float, float, int]:
        """Candle i as its update k of n shows it (k == n: final): the range grows toward the
        final high and low while the close walks from the open to the final close."""
        o, h, low, c, v = (column[i] for column in self.ohlcv)
        trades = self.trades[i]
        if k >= n:
            return o, h, low, c, v, trades
        f = k / n
        close = round(o + (c - o) * f, 8)
        high = round(max(o, close) + (h - max(o, c)) * f, 8)
        low_k = round(min(o, close) - (min(o, c) - low) * f, 8)
        return (
            o,
            max(high, o, close),
            min(low_k, o, close),
            close,
            round(v * f, 8),
            max(1, math.ceil(trades * f)),
        )


class FakeBinance(LoopbackServer):
    shutdown_timeout_s = 1.0

    def __init__(
        self,
        markets: Mapping[str, pd.DataFrame],
        interval: str = "1m",
        *,
        updates_per_candle: int = 4,
        pace_s: float = 0.0,
        live_from_ms: int | None = None,
        ping_interval_s: float = 20.0,
        weight_limit: int = 6000,
        ban_after: int = 3,
        faults: StreamFaults | None = None,
        clock: SimulatedClock | None = None,
    ) -> None:
        if updates_per_candle < 1:
            raise ValueError("updates_per_candle must be at least 1 (the closing update)")
        super().__init__()
        self.interval = interval
        self.timeframe_ms = parse_timeframe(interval)
        self.updates_per_candle = updates_per_candle
        self.pace_s = pace_s
        self.ping_interval_s = ping_interval_s
        self.weight_limit = weight_limit
        self.ban_after = ban_after
        self.faults = faults or StreamFaults()
        self.clock_skew_ms = 0
        self.rest_delay_s = 0.0
        self._series = {
            s.venue: s for s in (_Series(sym, f, interval) for sym, f in markets.items())
        }
        self._streams = {
            name
            for s in self._series.values()
            for name in (s.stream, s.book_stream, s.trade_stream)
        }
        self._now: tuple[_Series, int, int, int] | None = None  # the update being sent
        self._extra_ids = 0
        first = min(int(s.times[0]) for s in self._series.values())
        live_from = first if live_from_ms is None else live_from_ms
        for s in self._series.values():
            s.closed = int(np.searchsorted(s.times, live_from))
        self.clock = clock or SimulatedClock(live_from)
        # observations for tests
        self.requests: list[RequestRecord] = []
        self.connections = 0
        self.refused = 0
        self.messages = 0
        self.pongs = 0
        self.rate_limited = 0  # 429s answered
        self.violations = 0  # requests sent while a 429's Retry-After ran
        self.bans = 0
        self.sent_faults: Counter[str] = Counter()
        self.finished = asyncio.Event()
        self.price_listeners: list[PriceListener] = []
        self._running = asyncio.Event()
        self._running.set()
        # state
        self._clients: list[_Client] = []
        self._refuse = 0
        self._rest_faults: list[_RestFault] = []
        self._weights: dict[int, int] = {}
        self._limited_until = 0
        self._banned_until = 0
        self._hammering = 0  # requests during the current 429 window
        self._market: asyncio.Task[None] | None = None
        self._malformed = 0

    # -- lifecycle ----------------------------------------------------------------------------

    def _application(self) -> web.Application:
        app = web.Application(middlewares=[self._rest_rules])
        app.router.add_get("/api/v3/time", self._time)
        app.router.add_get("/api/v3/exchangeInfo", self._exchange_info)
        app.router.add_get("/api/v3/klines", self._klines)
        app.router.add_get("/stream", self._stream)
        return app

    async def close(self) -> None:
        if self._market is not None:
            self._market.cancel()
        self.drop_connections()
        await super().close()

    @property
    def rest_url(self) -> str:
        return self.origin

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def settings(self, **overrides: Any) -> BinanceSettings:
        """Client settings pointing at the fake (`overrides`: any other BinanceSettings field)."""
        urls = {
            "rest_url": self.rest_url,
            "ws_url": self.ws_url,
            "ws_api_url": f"{self.ws_url}/ws-api/v3",
        }
        return BinanceSettings.model_validate({**urls, **overrides})

    def symbol_rules(self, venue_symbol: str) -> SymbolRules | None:
        series = self._series.get(venue_symbol)
        return None if series is None else SymbolRules(series.base, series.quote, series.tick)

    def last_price(self, venue_symbol: str) -> float:
        """The market's price now: the forming candle's close, else the last closed one's,
        else the first candle's open."""
        series = self._series[venue_symbol]
        if series.forming is not None:
            i, k = series.forming
            return series.values(i, k, self.updates_per_candle)[3]
        if series.closed:
            return float(series.ohlcv[3][series.closed - 1])
        return float(series.ohlcv[0][0])

    def start_market(self) -> None:
        """Start streaming now (it otherwise starts with the first stream connection)."""
        if self._market is None:
            self._market = asyncio.create_task(self._run_market(), name="fake-binance-market")

    def pause_market(self) -> None:
        """Hold the market after the update being sent (a test's snapshot stays true)."""
        self._running.clear()

    def resume_market(self) -> None:
        self._running.set()

    # -- faults -------------------------------------------------------------------------------

    def mute(self) -> None:
        """Silence: the open connections stay open (pings go on) but receive no more data."""
        for client in self._clients:
            client.muted = True

    def drop_connections(self) -> None:
        """Cut every stream connection at once, without a close frame."""
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
        """Answer `times` REST requests (to `path`, or any) with `status`, after letting `skip`
        of them through. 429 and 418 also start the limit or ban for `retry_after` seconds."""
        self._rest_faults.append(_RestFault(status, times, retry_after, path, skip))

    async def announce_shutdown(self) -> None:
        """Send `serverShutdown` on every connection, as Binance does before a restart."""
        now = self.clock.now_ms()
        frame = _json({"stream": "!serverShutdown", "data": {"e": "serverShutdown", "E": now}})
        for client in list(self._clients):
            await self._send(client, frame)

    # -- market -------------------------------------------------------------------------------

    def updates(self) -> Iterator[tuple[str, str]]:
        """(stream, frame) of every update of every live candle, in market order, moving the
        market and its clock as it goes. The stream endpoint sends these; benchmarks use them
        as real frames."""
        n, tf = self.updates_per_candle, self.timeframe_ms
        for open_time, members in self._timeline():
            for k in range(1, n + 1):
                now = open_time + tf * k // n
                self.clock.advance_to(now)
                for series, i in members:
                    series.forming = None if k == n else (i, k)
                    if k == n:
                        series.closed = i + 1
                    if self.price_listeners:
                        o, h, low, c = series.values(i, k, n)[:4]
                        for listener in self.price_listeners:
                            listener(series.venue, open_time, now, o, h, low, c)
                    self._now = (series, i, k, now)
                    yield series.stream, self._kline_frame(series, i, k, now)

    async def _run_market(self) -> None:
        """Send the updates `pace_s` apart on average: sleeps shorter than the event loop can
        time are made up for by the next ones."""
        loop = asyncio.get_running_loop()
        due = loop.time()
        for stream, frame in self.updates():
            if not self._running.is_set():
                await self._running.wait()
                due = loop.time()
            await self._broadcast(stream, frame)
            for extra_stream, extra_frame in self._extra_frames():
                await self._broadcast(extra_stream, extra_frame)
            due = max(due + self.pace_s, loop.time() - 0.05)  # after a stall, do not rush
            await asyncio.sleep(max(0.0, due - loop.time()))
        self.finished.set()

    def _timeline(self) -> Iterator[tuple[int, list[tuple[_Series, int]]]]:
        starts: dict[int, list[tuple[_Series, int]]] = {}
        for series in self._series.values():
            for i in range(series.closed, len(series.times)):
                starts.setdefault(int(series.times[i]), []).append((series, i))
        yield from sorted(starts.items(), key=lambda item: item[0])

    def _kline_frame(self, series: _Series, i: int, k: int, now: int) -> str:
        o, h, low, c, v, trades = series.values(i, k, self.updates_per_candle)
        t = int(series.times[i])
        first = series.first_trade[i]
        kline = {
            "t": t,
            "T": t + self.timeframe_ms - 1,
            "s": series.venue,
            "i": self.interval,
            "f": first,
            "L": first + trades - 1,
            "o": _num(o),
            "c": _num(c),
            "h": _num(h),
            "l": _num(low),
            "v": _num(v),
            "n": trades,
            "x": k >= self.updates_per_candle,
            "q": _num(v * c),
            "V": _num(v / 2),
            "Q": _num(v * c / 2),
            "B": "0",
        }
        data = {"e": "kline", "E": now, "s": series.venue, "k": kline}
        return _json({"stream": series.stream, "data": data})

    def _extra_frames(self) -> Iterator[tuple[str, str]]:
        """The update being sent as a trade and a book ticker, to those who subscribed: the
        trade at its close, the book a tick either side of it."""
        if self._now is None:
            return
        series, i, k, now = self._now
        wanted = {name for client in self._clients for name in client.streams}
        if not wanted & {series.trade_stream, series.book_stream}:
            return
        close, volume = series.values(i, k, self.updates_per_candle)[3:5]
        tick = float(series.tick)
        self._extra_ids += 1
        if series.trade_stream in wanted:
            trade = {
                "e": "aggTrade",
                "E": now,
                "s": series.venue,
                "a": self._extra_ids,
                "p": _num(close),
                "q": _num(volume / self.updates_per_candle),
                "f": self._extra_ids,
                "l": self._extra_ids,
                "T": now,
                "m": False,
                "M": True,
            }
            yield series.trade_stream, _json({"stream": series.trade_stream, "data": trade})
        if series.book_stream in wanted:
            book = {
                "u": self._extra_ids,
                "s": series.venue,
                "b": _num(close - tick),
                "B": "1.5",
                "a": _num(close + tick),
                "A": "2.25",
            }
            yield series.book_stream, _json({"stream": series.book_stream, "data": book})

    async def _broadcast(self, stream: str, frame: str) -> None:
        self.messages += 1
        for client in list(self._clients):
            if stream in client.streams and not client.muted:
                await self._deliver(client, frame, self.messages)

    async def _deliver(self, client: _Client, frame: str, m: int) -> None:
        faults = self.faults
        if faults.lose_every and m % faults.lose_every == 0:
            self.sent_faults["lost"] += 1
            return
        frames = []
        if faults.malformed_every and m % faults.malformed_every == 0:
            frames.append(self._malformed_frame(frame))
        if faults.reorder_every and m % faults.reorder_every == 0 and client.held is None:
            client.held = frame
            self.sent_faults["reordered"] += 1
        else:
            frames.append(frame)
            if faults.duplicate_every and m % faults.duplicate_every == 0:
                frames.append(frame)
                self.sent_faults["duplicated"] += 1
            if client.held is not None:
                frames.append(client.held)
                client.held = None
        for f in frames:
            await self._send(client, f)
        client.sent += 1
        if faults.drop_after and client.sent >= faults.drop_after:
            self.sent_faults["dropped"] += 1
            _abort(client)

    def _malformed_frame(self, frame: str) -> str:
        """One of the ways a frame can be broken, in turn."""
        self._malformed += 1
        self.sent_faults["malformed"] += 1
        kinds = (
            frame[: len(frame) // 2],  # truncated
            '{"stream":"btcusdt@kline_1m","data":{"e":"kline","E":1}}',  # no kline
            frame.replace('"o":"', '"o":"x', 1),  # a price that is not a number
            '{"stream":"btcusdt@kline_1m","data":{"e":"mystery","E":1}}',  # unknown event
            "not json at all",
        )
        return kinds[self._malformed % len(kinds)]

    async def _send(self, client: _Client, frame: str) -> None:
        if client.ws.closed:
            return
        try:
            await client.ws.send_str(frame)
        except (ConnectionError, RuntimeError):
            _abort(client)

    # -- stream endpoint ----------------------------------------------------------------------

    async def _stream(self, request: web.Request) -> web.StreamResponse:
        if self._refuse > 0:
            self._refuse -= 1
            self.refused += 1
            return web.Response(status=503, text="Service Unavailable")
        streams = frozenset(filter(None, request.query.get("streams", "").split("/")))
        unknown = streams - self._streams
        if not streams or unknown:
            return _error(400, -1100, f"Invalid stream names: {sorted(unknown)}")
        ws = web.WebSocketResponse(autoping=False)
        await ws.prepare(request)
        client = _Client(ws, request.transport, streams)
        self._clients.append(client)
        self.connections += 1
        if self._market is None:
            self.start_market()
        pinger = asyncio.create_task(self._ping(client))
        try:
            async for message in ws:
                if message.type is WSMsgType.PING:
                    await ws.pong(message.data)
                elif message.type is WSMsgType.PONG and bytes(message.data) in client.pings:
                    client.pings.discard(bytes(message.data))
                    self.pongs += 1
        finally:
            pinger.cancel()
            self._clients.remove(client)
        return ws

    async def _ping(self, client: _Client) -> None:
        sequence = 0
        while not client.ws.closed:
            await asyncio.sleep(self.ping_interval_s)
            sequence += 1
            payload = str(sequence).encode()
            client.pings.add(payload)
            try:
                await client.ws.ping(payload)
            except (ConnectionError, RuntimeError):
                return

    # -- REST ---------------------------------------------------------------------------------

    @web.middleware
    async def _rest_rules(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Weights, limits, bans and injected failures around every REST endpoint."""
        if not request.path.startswith(("/api/", "/sapi/")):
            response: web.StreamResponse = await handler(request)
            return response
        if self.rest_delay_s:
            await asyncio.sleep(self.rest_delay_s)
        now = self.clock.now_ms()
        refusal = self._injected(request.path, now) or self._limits(now, request.path)
        response = refusal or await handler(request)
        response.headers[WEIGHT_HEADER] = str(self._weights.get(now // MINUTE_MS, 0))
        self.requests.append(RequestRecord(request.path, dict(request.query), now, response.status))
        return response

    def _injected(self, path: str, now: int) -> web.Response | None:
        for fault in self._rest_faults:
            if fault.path not in (None, path):
                continue
            if fault.skip:
                fault.skip -= 1
                return None
            fault.times -= 1
            if fault.times <= 0:
                self._rest_faults.remove(fault)
            wait = fault.retry_after
            if fault.status == 429:
                self._limit(now + (wait or 60) * 1000)
            elif fault.status == 418:
                self._ban(now + (wait or 120) * 1000)
            return _error(fault.status, -1000, "An injected failure.", wait)
        return None

    def _limits(self, now: int, path: str) -> web.Response | None:
        if now < self._banned_until:
            return _error(
                418, -1003, "Way too many requests; IP banned.", _secs(self._banned_until - now)
            )
        if now < self._limited_until:
            self.violations += 1
            self._hammering += 1
            if self._hammering >= self.ban_after:
                self._ban(now + BAN_MS)
                return _error(418, -1003, "Way too many requests; IP banned.", BAN_MS // 1000)
            return _error(429, -1003, "Too many requests.", _secs(self._limited_until - now))
        minute = now // MINUTE_MS
        used = self._weights[minute] = self._weights.get(minute, 0) + WEIGHTS.get(path, 1)
        if used > self.weight_limit:
            self._limit((minute + 1) * MINUTE_MS)
            return _error(
                429, -1003, "Too much request weight used.", _secs(self._limited_until - now)
            )
        return None

    def _limit(self, until: int) -> None:
        self._limited_until = until
        self._hammering = 0
        self.rate_limited += 1

    def _ban(self, until: int) -> None:
        self._banned_until = until
        self.bans += 1

    async def _time(self, request: web.Request) -> web.Response:
        return web.json_response({"serverTime": self.clock.now_ms() + self.clock_skew_ms})

    async def _exchange_info(self, request: web.Request) -> web.Response:
        wanted = _symbols_param(request.query)
        wanted = list(self._series) if wanted is None else wanted
        if any(s not in self._series for s in wanted):
            return _error(400, -1121, "Invalid symbol.")
        return web.json_response(
            {
                "timezone": "UTC",
                "serverTime": self.clock.now_ms() + self.clock_skew_ms,
                "rateLimits": [
                    _rate_limit("REQUEST_WEIGHT", "MINUTE", 1, self.weight_limit),
                    _rate_limit("ORDERS", "SECOND", 10, 100),
                    _rate_limit("ORDERS", "DAY", 1, 200_000),
                    _rate_limit("RAW_REQUESTS", "MINUTE", 5, 61_000),
                ],
                "exchangeFilters": [],
                "symbols": [_symbol_info(self._series[s]) for s in wanted],
            },
            dumps=_json,
        )

    async def _klines(self, request: web.Request) -> web.Response:
        query = request.query
        series = self._series.get(query.get("symbol", ""))
        if series is None:
            return _error(400, -1121, "Invalid symbol.")
        if query.get("interval") != self.interval:
            return _error(400, -1120, "Invalid interval.")
        try:
            limit = int(query.get("limit", "500"))
            start = int(query["startTime"]) if "startTime" in query else None
            end = int(query["endTime"]) if "endTime" in query else None
        except ValueError:
            return _error(400, -1100, "Illegal characters found in a parameter.")
        if not 1 <= limit <= 1000:
            return _error(400, -1130, "Invalid data sent for a parameter.")
        shown = series.closed + (series.forming is not None)
        times = series.times[:shown]
        lo = 0 if start is None else int(np.searchsorted(times, start))
        hi = shown if end is None else int(np.searchsorted(times, end, "right"))
        rows = (
            range(lo, min(hi, lo + limit)) if start is not None else range(max(lo, hi - limit), hi)
        )
        return web.json_response([self._kline_row(series, i) for i in rows], dumps=_json)

    def _kline_row(self, series: _Series, i: int) -> list[Any]:
        n = self.updates_per_candle
        k = series.forming[1] if series.forming is not None and series.forming[0] == i else n
        o, h, low, c, v, trades = series.values(i, k, n)
        t = int(series.times[i])
        return [
            *(t, _num(o), _num(h), _num(low), _num(c), _num(v)),
            *(t + self.timeframe_ms - 1, _num(v * c), trades, _num(v / 2), _num(v * c / 2), "0"),
        ]


def relabel(frame: pd.DataFrame, timeframe_ms: int, start_ms: int) -> pd.DataFrame:
    """The same candles as if their timeframe were `timeframe_ms`, the first opening at
    `start_ms`; gaps keep their length in candles. Turns real 5m data into 1s klines that a
    test streams in seconds."""
    times = frame_to_arrays(frame)[0]
    steps = (times - times[0]) // infer_timeframe_ms(frame)
    relabelled = frame.copy()
    relabelled.index = pd.DatetimeIndex(
        pd.to_datetime(start_ms + steps * timeframe_ms, unit="ms", utc=True), name="time"
    )
    return relabelled


def _abort(client: _Client) -> None:
    client.muted = True
    if client.transport is not None:
        client.transport.abort()


def _num(x: float) -> str:
    """A number as Binance writes it: a string with 8 decimals, unless that would round it."""
    text = f"{x:.8f}"
    return text if float(text) == x else repr(x)


def _secs(ms: int) -> int:
    return max(1, math.ceil(ms / 1000))


def _json(value: Any) -> str:
    return orjson.dumps(value).decode()


def _error(status: int, code: int, msg: str, retry_after: int | None = None) -> web.Response:
    headers = {} if retry_after is None else {"Retry-After": str(retry_after)}
    return web.json_response({"code": code, "msg": msg}, status=status, headers=headers)


def _symbols_param(query: Mapping[str, str]) -> list[str] | None:
    if "symbol" in query:
        return [query["symbol"]]
    if "symbols" in query:
        try:
            return [str(s) for s in orjson.loads(query["symbols"])]
        except orjson.JSONDecodeError:
            return ["?"]
    return None


def _rate_limit(kind: str, interval: str, num: int, limit: int) -> dict[str, Any]:
    return {"rateLimitType": kind, "interval": interval, "intervalNum": num, "limit": limit}


def _symbol_info(series: _Series) -> dict[str, Any]:
    def d(value: Decimal | str) -> str:
        return f"{Decimal(value):.8f}"

    return {
        "symbol": series.venue,
        "status": "TRADING",
        "baseAsset": series.base,
        "baseAssetPrecision": 8,
        "quoteAsset": series.quote,
        "quotePrecision": 8,
        "quoteAssetPrecision": 8,
        "baseCommissionPrecision": 8,
        "quoteCommissionPrecision": 8,
        "orderTypes": ["LIMIT", "LIMIT_MAKER", "MARKET", "STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT"],
        "icebergAllowed": True,
        "ocoAllowed": True,
        "otoAllowed": True,
        "quoteOrderQtyMarketAllowed": True,
        "allowTrailingStop": True,
        "cancelReplaceAllowed": True,
        "isSpotTradingAllowed": True,
        "isMarginTradingAllowed": False,
        "filters": [
            {
                "filterType": "PRICE_FILTER",
                "minPrice": d(series.tick),
                "maxPrice": d("1000000"),
                "tickSize": d(series.tick),
            },
            {
                "filterType": "LOT_SIZE",
                "minQty": d(LOT_STEP),
                "maxQty": d("9000"),
                "stepSize": d(LOT_STEP),
            },
            {"filterType": "ICEBERG_PARTS", "limit": 10},
            {
                "filterType": "MARKET_LOT_SIZE",
                "minQty": d("0"),
                "maxQty": d("100"),
                "stepSize": d("0"),
            },
            {
                "filterType": "TRAILING_DELTA",
                "minTrailingAboveDelta": 10,
                "maxTrailingAboveDelta": 2000,
                "minTrailingBelowDelta": 10,
                "maxTrailingBelowDelta": 2000,
            },
            {
                "filterType": "PERCENT_PRICE_BY_SIDE",
                "bidMultiplierUp": "5",
                "bidMultiplierDown": "0.2",
                "askMultiplierUp": "5",
                "askMultiplierDown": "0.2",
                "avgPriceMins": 5,
            },
            {
                "filterType": "NOTIONAL",
                "minNotional": d(MIN_NOTIONAL),
                "applyMinToMarket": True,
                "maxNotional": d("9000000"),
                "applyMaxToMarket": False,
                "avgPriceMins": 5,
            },
            {"filterType": "MAX_NUM_ORDERS", "maxNumOrders": 200},
            {"filterType": "MAX_NUM_ALGO_ORDERS", "maxNumAlgoOrders": 5},
        ],
        "permissions": [],
        "permissionSets": [["SPOT"]],
        "defaultSelfTradePreventionMode": "EXPIRE_MAKER",
        "allowedSelfTradePreventionModes": ["NONE", "EXPIRE_TAKER", "EXPIRE_MAKER", "EXPIRE_BOTH"],
    }
