"""The Binance spot market-data feed: klines in, `MarketDataReceived` candles out, none missed.

Every kline update is published as a candle, forming until Binance's `x` flag closes it; the
DataProcessor publishes each closed candle once and in order. With `extra_streams`, trades
(`aggTrade`) are published as ticks and the best bid and ask (`bookTicker`) as QuoteUpdated,
from the same connection; they are live colour (spread, last trade), never backfilled.

The feed sees to it that no closed candle is missing:

- around every (re)connection it publishes from REST the closed candles after the last one the
  DataProcessor saw (`last_closed`): before connecting (the bulk, so that Binance's pings are
  not left unanswered meanwhile) and again once connected, while the new stream's messages wait
  in their buffer;
- a closed kline that skips ahead (a lost or reordered message) has the gap filled from REST
  before it is published; if REST cannot fill it, the candle goes out anyway and the
  DataProcessor reports the gap (`DataGap`): a live bot must not stall on a REST outage;
- when the stream cannot be had (`failures_before_polling` failed attempts), it polls REST at
  each candle close and returns to streaming when a connection succeeds; with `poll_only` (the
  bot's sync mode) it never streams and only polls.

`FeedStale` says what went wrong and what the feed does about it; `FeedRestored` follows once it
has caught up. Venue failures never leave `run()`, except a configuration that cannot work (an
unknown symbol, a URL that is not Binance's).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence

import aiohttp
import structlog

from trading_bot.core.clock import Clock
from trading_bot.core.events import Event, MarketDataReceived, QuoteUpdated
from trading_bot.core.hub import EventHub
from trading_bot.core.model import Candle, Quote, Tick
from trading_bot.venues.backoff import Backoff
from trading_bot.venues.binance.config import BinanceSettings
from trading_bot.venues.binance.markets import Markets
from trading_bot.venues.binance.rest import BinanceRest
from trading_bot.venues.binance.schemas import AggTradeEvent, BookTicker, StreamKline
from trading_bot.venues.binance.stream import (
    FrameParser,
    KlineStream,
    StreamConnection,
    interval_ms,
    kline_stream,
    symbol_stream,
)
from trading_bot.venues.errors import RateLimited, TemporaryError, VenueError
from trading_bot.venues.health import StreamHealth

log = structlog.get_logger("trading_bot.binance")

LastClosed = Callable[[str], int | None]


class KlineTranslator:
    """Stream messages to ours: klines to candles, trades to ticks, book tickers to quotes,
    Binance's symbol to ours; anything unexpected dropped."""

    def __init__(
        self, markets: Markets, symbols: Sequence[str], interval: str, parser: FrameParser
    ) -> None:
        self._symbols = {markets.venue_symbol(s): s for s in symbols}
        self._interval = interval
        self._timeframe = interval_ms(interval)
        self._parser = parser

    def candle(self, k: StreamKline) -> Candle | None:
        symbol = self._symbols.get(k.symbol)
        if symbol is None or k.interval != self._interval:
            self._parser.drop("unexpected_stream", f"{k.symbol} {k.interval}", k)
            return None
        return Candle(
            symbol, self._timeframe, k.open_time, k.open, k.high, k.low, k.close, k.volume, k.closed
        )

    def extra(self, message: AggTradeEvent | BookTicker, now_ms: int) -> Event | None:
        """A trade as a tick (MarketDataReceived), a book ticker as a quote (QuoteUpdated,
        stamped `now_ms`: Binance sends it no time)."""
        symbol = self._symbols.get(message.symbol)
        if symbol is None:
            self._parser.drop("unexpected_stream", message.symbol, message)
            return None
        if isinstance(message, AggTradeEvent):
            return MarketDataReceived(Tick(symbol, message.trade_time, message.price, message.qty))
        quote = Quote(symbol, now_ms, message.bid, message.ask, message.bid_qty, message.ask_qty)
        return QuoteUpdated(quote)


class BinanceFeed:
    """Streams `interval` klines of `symbols` ("BTC/USDT") into the hub until cancelled.

    `last_closed(symbol)` is the open time of the last closed candle the DataProcessor
    published (`processor.last_closed_time(symbol, timeframe)`): backfills start after it. With
    nothing processed yet, `warmup` closed candles are fetched first (0: none)."""

    def __init__(
        self,
        hub: EventHub,
        clock: Clock,
        rest: BinanceRest,
        settings: BinanceSettings,
        symbols: Sequence[str],
        interval: str,
        last_closed: LastClosed,
        warmup: int = 0,
        *,
        poll_only: bool = False,
    ) -> None:
        if not symbols:
            raise ValueError("the Binance feed needs at least one symbol")
        self.timeframe_ms = interval_ms(interval)
        self.symbols = tuple(symbols)
        self.interval = interval
        self.source = f"binance {','.join(self.symbols)} {interval}"
        self.markets: Markets | None = None
        self.stream: KlineStream | None = None
        self._hub = hub
        self._clock = clock
        self._rest = rest
        self._settings = settings
        self._last_closed = last_closed
        self._warmup = warmup
        self._poll_only = poll_only
        self._poll_from: dict[str, int] = {}  # sync mode, nothing processed: start after these
        self._backoff = Backoff(settings.reconnect_min_s, settings.reconnect_max_s)
        self._health = StreamHealth(hub, clock, self.source)

    async def run(self) -> None:
        markets = self.markets = await self._load_markets()
        if self._poll_only:
            await self._poll_forever()
            return
        streams = [kline_stream(markets.venue_symbol(s), self.interval) for s in self.symbols]
        streams += [
            symbol_stream(markets.venue_symbol(s), kind)
            for s in self.symbols
            for kind in self._settings.extra_streams
        ]
        connection: StreamConnection | None = None
        async with aiohttp.ClientSession() as session:
            stream = self.stream = KlineStream(session, self._settings, streams)
            translator = KlineTranslator(markets, self.symbols, self.interval, stream.parser)
            try:
                while True:
                    if connection is None:
                        # Catch up before connecting too: a long backfill on an open connection
                        # would leave Binance's pings unanswered.
                        with contextlib.suppress(VenueError):
                            await self._catch_up()
                        connection = await self._connect(stream)
                    try:
                        await self._catch_up()
                    except VenueError as exc:
                        self._health.stale(
                            "backfilling",
                            f"backfill from REST failed ({exc}); missing candles are fetched "
                            "before the next closed candle",
                        )
                    else:
                        self._health.restored()
                    await self._consume(connection, translator)
                    connection = await self._after(connection, stream)
            finally:
                if connection is not None:
                    with contextlib.suppress(Exception):
                        await connection.close()

    # -- connection life ----------------------------------------------------------------------

    async def _load_markets(self) -> Markets:
        while True:
            try:
                return await self._rest.markets()
            except VenueError as exc:
                if not exc.retryable:
                    raise
                self._health.stale("starting", f"cannot load Binance's markets ({exc}); retrying")
                await asyncio.sleep(self._delay_after(exc))

    async def _connect(self, stream: KlineStream) -> StreamConnection:
        """A new connection, attempted on the backoff's schedule; once `failures_before_polling`
        attempts failed, REST is polled at each candle close in between."""
        loop = asyncio.get_running_loop()
        failures, retry_at, close_at, error = 0, loop.time(), None, ""
        while True:
            if loop.time() >= retry_at:
                try:
                    return await stream.connect()
                except TemporaryError as exc:
                    failures += 1
                    retry_at = loop.time() + self._backoff.next()
                    log.warning("binance stream connection failed", error=str(exc))
                    error = str(exc)
            if failures < self._settings.failures_before_polling:
                self._health.stale("reconnecting", f"{error}; reconnecting")
            else:
                self._health.stale(
                    "polling",
                    f"{error}; stream unavailable after {failures} attempts, polling REST at "
                    "each candle close until it is back",
                )
                if close_at is None:
                    close_at = loop.time() + self._to_next_close_s()
                elif loop.time() >= close_at:
                    with contextlib.suppress(VenueError):  # logged; the next close tries again
                        await self._catch_up()
                    close_at = loop.time() + self._to_next_close_s()
            wake = retry_at if close_at is None else min(retry_at, close_at)
            await asyncio.sleep(max(0.0, wake - loop.time()))

    async def _poll_forever(self) -> None:
        """Sync mode, for networks that block WebSockets: no stream, closed candles from REST at
        each candle close (each arrives `settle_s` plus a request's time after its close)."""
        while True:
            try:
                await self._catch_up()
            except VenueError as exc:
                self._health.stale("polling", f"polling REST failed ({exc}); retrying")
                await asyncio.sleep(self._delay_after(exc))
                continue
            self._backoff.reset()
            self._health.restored()
            await asyncio.sleep(self._to_next_close_s())

    def _to_next_close_s(self) -> float:
        now = self._rest.server_now_ms()
        return (self.timeframe_ms - now % self.timeframe_ms) / 1000

    async def _after(
        self, connection: StreamConnection, stream: KlineStream
    ) -> StreamConnection | None:
        """Close an ended connection; after a planned end, the next one is opened first."""
        if connection.messages:
            self._backoff.reset()
        end, detail = connection.end, connection.detail
        if end is not None and end.planned:
            log.info("binance stream reconnecting", reason=detail)
            fresh: StreamConnection | None = None
            with contextlib.suppress(TemporaryError):
                fresh = await stream.connect()
            await connection.close()
            return fresh
        await connection.close()
        self._health.stale("reconnecting", f"stream {end}: {detail}; reconnecting")
        await asyncio.sleep(self._backoff.next())
        return None

    # -- data ---------------------------------------------------------------------------------

    async def _consume(self, connection: StreamConnection, translator: KlineTranslator) -> None:
        publish, candle_of = self._hub.publish, translator.candle
        async for kline in connection:
            if not isinstance(kline, StreamKline):
                extra = translator.extra(kline, self._clock.now_ms())
                if extra is not None:
                    publish(extra)
                continue
            candle = candle_of(kline)
            if candle is None:
                continue
            if candle.closed:
                await self._publish_closed(candle)
            else:
                publish(MarketDataReceived(candle))

    async def _publish_closed(self, candle: Candle) -> None:
        """Publish a closed candle from the stream, after any candles missing before it."""
        last = self._last_closed(candle.symbol)
        tf = self.timeframe_ms
        complete = True
        if last is not None and candle.open_time > last + tf:
            try:
                await self._fill(candle.symbol, last + tf, candle.open_time - tf)
            except VenueError as exc:
                complete = False
                log.error(
                    "candles missing before a closed candle could not be fetched",
                    symbol=candle.symbol,
                    after=last,
                    before=candle.open_time,
                    error=str(exc),
                )
        self._hub.publish(MarketDataReceived(candle))
        if complete:
            self._health.restored()

    async def _catch_up(self) -> None:
        """Publish from REST every candle closed (and settled) since the last one processed."""
        tf = self.timeframe_ms
        settle_ms = round(self._settings.settle_s * 1000)
        try:
            now = await self._rest.server_time()
            if now % tf < settle_ms:  # a candle has just closed: let REST settle on it
                await asyncio.sleep((settle_ms - now % tf) / 1000)
                now = await self._rest.server_time()
            newest = now - settle_ms - tf  # the latest open time of a settled candle
            for symbol in self.symbols:
                last = self._last_closed(symbol)
                if last is None and self._poll_only and not self._warmup:
                    # as a stream would: the candles that close from now on
                    last = self._poll_from.setdefault(symbol, newest)
                if last is not None:
                    await self._fill(symbol, last + tf, newest)
                elif self._warmup:
                    await self._fill(symbol, newest - newest % tf - (self._warmup - 1) * tf, newest)
        except VenueError as exc:
            log.warning("binance backfill failed", error=str(exc))
            raise

    async def _fill(self, symbol: str, first_open: int, last_open: int) -> None:
        """Publish the closed candles of `symbol` opening in [first_open, last_open] from REST."""
        assert self.markets is not None
        venue, tf, publish = self.markets.venue_symbol(symbol), self.timeframe_ms, self._hub.publish
        async for page in self._rest.iter_klines(venue, self.interval, first_open, last_open):
            for k in page:
                candle = Candle(symbol, tf, k.open_time, k.open, k.high, k.low, k.close, k.volume)
                publish(MarketDataReceived(candle))

    def _delay_after(self, exc: VenueError) -> float:
        return exc.retry_after if isinstance(exc, RateLimited) else self._backoff.next()
