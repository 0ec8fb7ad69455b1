"""The OANDA market-data feed: pricing stream in, `MarketDataReceived` candles out, none missed.

Every tradeable price is also published as the best bid and ask (QuoteUpdated).

The rule, one for every case: **every closed candle comes from REST**, only `complete` ones,
starting after the last closed candle the DataProcessor published (`last_closed`). The stream's
prices build the forming candle (mid, bid or ask), published as it grows, and tell the feed when
a candle has closed: its times, heartbeats included, are the venue's clock. So the feed asks
REST for the closed candles

- once a stream message is stamped past the end of a candle not yet published (after
  `settle_s`, and again a few times if REST has not yet completed a candle the stream saw
  prices in);
- before every connection attempt: while the stream is down (cut, silent, refused), closed
  candles still arrive at the pace of the reconnections.

Why not close candles from the stream's own prices: OANDA's stream conflates prices (about one
every 250 ms per instrument), so a stream-built candle can miss the high, the low or the count
that OANDA's candle has, and a candle during which the stream was down has nothing to be built
from.
REST's candle is the venue's by definition, so what a strategy sees live is exactly what a
download of the same period holds. The cost is one REST request per candle, a fraction of a
second after its close.

If REST fails, the forming candle keeps streaming and the feed reports FEED_STALE
("backfilling") and retries with backoff; the missing candles are published in order as soon
as REST answers. A stream without any line for `stale_after_s` (OANDA sends a heartbeat every
5 s) is reconnected with backoff and jitter. While the market is closed (the last price was not
`tradeable`, as on weekends) troubles are logged but raise no FEED_STALE, and the stream's
clock asks REST for no candle (only reconnections still look).
"""

from __future__ import annotations

import asyncio
from decimal import Decimal

import aiohttp
import structlog

from trading_bot.core.clock import Clock
from trading_bot.core.events import MarketDataReceived, QuoteUpdated
from trading_bot.core.hub import EventHub
from trading_bot.core.model import Candle, Quote
from trading_bot.data.timeframes import parse_timeframe
from trading_bot.venues.backoff import Backoff
from trading_bot.venues.errors import RateLimited, TemporaryError, VenueError
from trading_bot.venues.health import StreamHealth
from trading_bot.venues.market import LastClosed
from trading_bot.venues.oanda.config import OandaSettings
from trading_bot.venues.oanda.instruments import venue_name
from trading_bot.venues.oanda.rest import OandaRest, account_path, auth_headers
from trading_bot.venues.oanda.schemas import (
    StreamHeartbeat,
    StreamPrice,
    rfc3339_ms,
    stream_decoder,
)
from trading_bot.venues.oanda.stream import NdjsonStream, StreamConnection

log = structlog.get_logger("trading_bot.oanda")


class _Forming:
    """The candle being built from stream prices; `ticks` counts them as OANDA's volume does."""

    __slots__ = ("close", "high", "low", "open", "open_time", "ticks")

    def __init__(self, open_time: int, price: float) -> None:
        self.open_time = open_time
        self.open = self.high = self.low = self.close = price
        self.ticks = 1

    def add(self, price: float) -> None:
        if price > self.high:
            self.high = price
        elif price < self.low:
            self.low = price
        self.close = price
        self.ticks += 1


class PriceCandles:
    """Stream prices into the forming candle of one instrument, in one price component."""

    def __init__(self, symbol: str, timeframe_ms: int, price: str) -> None:
        self.symbol = symbol
        self.timeframe_ms = timeframe_ms
        self.forming: _Forming | None = None
        self._component = price

    def add(self, time_ms: int, bid: Decimal | None, ask: Decimal | None) -> Candle | None:
        """The forming candle with this price in it; None for a price that cannot be used (no
        quote, or older than the forming candle)."""
        if self._component == "mid":
            # halving is exact in binary: the same float as float((bid + ask) / 2), faster
            value = None if bid is None or ask is None else float(bid + ask) / 2
        else:
            quote = bid if self._component == "bid" else ask
            value = None if quote is None else float(quote)
        if value is None:
            return None
        tf = self.timeframe_ms
        open_time = time_ms - time_ms % tf
        f = self.forming
        if f is None or open_time > f.open_time:
            f = self.forming = _Forming(open_time, value)
        elif open_time < f.open_time:
            return None
        else:
            f.add(value)
        return Candle(
            self.symbol, tf, open_time, f.open, f.high, f.low, f.close, float(f.ticks), False
        )


def quote_of(symbol: str, time_ms: int, bid: Decimal | None, ask: Decimal | None) -> Quote | None:
    """The best bid and ask of a price (None without both)."""
    if bid is None or ask is None:
        return None
    return Quote(symbol, time_ms, float(bid), float(ask))


class OandaFeed:
    """Streams `settings.symbol` candles of `settings.timeframe` into the hub until cancelled.

    `last_closed(symbol)` is the open time of the last closed candle the DataProcessor
    published (`processor.last_closed_time(symbol, timeframe)`): closed candles are fetched
    after it; with nothing processed yet, from the candle forming when the stream started."""

    def __init__(
        self,
        hub: EventHub,
        clock: Clock,
        rest: OandaRest,
        settings: OandaSettings,
        last_closed: LastClosed,
        *,
        poll_only: bool = False,
    ) -> None:
        self.symbol = settings.symbol
        self.timeframe_ms = parse_timeframe(settings.timeframe)
        self.source = f"oanda {self.symbol} {settings.timeframe}"
        self.market_open = True  # as the last price said (`tradeable`)
        self.stream: NdjsonStream[StreamPrice | StreamHeartbeat] | None = None
        self._hub = hub
        self._clock = clock
        self._poll_only = poll_only
        self._rest = rest
        self._settings = settings
        self._last_closed = last_closed
        self._instrument = venue_name(self.symbol)
        self._candles = PriceCandles(self.symbol, self.timeframe_ms, settings.price)
        self._first_open: int | None = None  # the first candle the stream showed
        self._checked_through: int | None = None  # REST asked for candles up to this one
        self._behind = False  # the last REST backfill failed
        self._retry_at = 0.0  # loop time before which REST is not asked again after a failure
        self._backoff = Backoff(settings.reconnect_min_s, settings.reconnect_max_s)
        self._rest_backoff = Backoff(settings.reconnect_min_s, settings.reconnect_max_s)
        self._connected = False  # a stream connection is delivering
        self._health = StreamHealth(hub, clock, self.source)

    async def run(self) -> None:
        if self._poll_only:
            await self._poll_forever()
            return
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=self._settings.request_timeout_s)
        headers = auth_headers(self._settings)  # AuthError naming oanda.token if missing
        async with aiohttp.ClientSession(headers=headers, timeout=timeout) as session:
            stream = self.stream = NdjsonStream(
                session,
                self._settings,
                account_path(self._settings, "pricing/stream"),
                stream_decoder,
                _is_heartbeat,
                {"instruments": self._instrument},
            )
            while True:
                await self._backfill()
                try:
                    connection = await stream.connect()
                except TemporaryError as exc:
                    self._trouble("reconnecting", f"cannot connect ({exc}); reconnecting")
                    await asyncio.sleep(self._delay_after(exc))
                    continue
                try:
                    await self._consume(connection)
                finally:
                    self._connected = False
                    connection.close()
                if connection.data:
                    self._backoff.reset()
                self._trouble(
                    "reconnecting", f"stream {connection.end}: {connection.detail}; reconnecting"
                )
                await asyncio.sleep(self._backoff.next())

    async def _poll_forever(self) -> None:
        """Sync mode, for networks that block streams: complete candles from REST at each candle
        close (each arrives `settle_s` plus a request's time after its close)."""
        tf = self.timeframe_ms
        while True:
            now = self._clock.now_ms()
            if self._first_open is None:  # as the stream would: from the candle forming now
                self._first_open = now - now % tf
            if await self._backfill():
                self._health.restored()
            else:
                await asyncio.sleep(max(0.0, self._retry_at - asyncio.get_running_loop().time()))
                continue
            now = self._clock.now_ms()
            await asyncio.sleep((tf - now % tf) / 1000 + self._settings.settle_s)

    # -- stream -------------------------------------------------------------------------------

    async def _consume(self, connection: StreamConnection[StreamPrice | StreamHeartbeat]) -> None:
        self._candles.forming = None  # prices were missed: start the candle afresh
        publish = self._hub.publish
        async for message in connection:
            time_ms = rfc3339_ms(message.time)
            price = message if isinstance(message, StreamPrice) else None
            if price is not None:
                if price.instrument != self._instrument:
                    continue
                if price.tradeable != self.market_open:
                    self.market_open = price.tradeable
                    log.info("oanda market open" if price.tradeable else "oanda market closed")
            if not self._connected:
                self._connected = True
                if not self._behind:
                    self._health.restored()
            await self._on_time(time_ms)
            if price is not None and self.market_open:
                bid, ask = price.bid(), price.ask()
                candle = self._candles.add(time_ms, bid, ask)
                if candle is not None:
                    if self._first_open is None:
                        self._first_open = candle.open_time
                    publish(MarketDataReceived(candle))
                quote = quote_of(self.symbol, time_ms, bid, ask)
                if quote is not None:
                    publish(QuoteUpdated(quote))

    async def _on_time(self, time_ms: int) -> None:
        """The venue's time is `time_ms`: fetch the candles that have closed by then."""
        tf = self.timeframe_ms
        closed = time_ms - time_ms % tf - tf  # the newest candle closed by now
        checked = self._checked_through
        if checked is not None and closed <= checked:
            return
        forming = self._candles.forming
        saw_prices = forming is not None and forming.open_time == closed
        if not (self.market_open or saw_prices):
            self._checked_through = closed  # the market is closed: no candle can have formed
            return
        if asyncio.get_running_loop().time() < self._retry_at:
            return
        settle = self._settings.settle_s
        await asyncio.sleep(settle)
        for _ in range(self._settings.rest_attempts):
            if not await self._backfill():
                return
            last = self._last_closed(self.symbol)
            if not saw_prices or (last is not None and last >= closed):
                break
            await asyncio.sleep(max(settle, self._settings.rest_retry_s))  # REST lags behind
        else:
            log.warning("oanda has not completed a closed candle yet", open_time=closed)
        self._checked_through = closed

    # -- REST -----------------------------------------------------------------------------------

    async def _backfill(self) -> bool:
        """Publish every complete candle after the last one processed; False if REST failed
        (reported, and retried with backoff)."""
        last = self._last_closed(self.symbol)
        first = self._first_open if last is None else last + self.timeframe_ms
        if first is None:
            return True
        publish, settings = self._hub.publish, self._settings
        try:
            async for page in self._rest.iter_candles(self.symbol, settings.timeframe, first):
                for candle in page:
                    publish(MarketDataReceived(candle))
        except VenueError as exc:
            self._behind = True
            self._retry_at = asyncio.get_running_loop().time() + self._delay_after(exc, rest=True)
            log.warning("oanda backfill failed", error=str(exc))
            self._trouble(
                "backfilling",
                f"closed candles from REST failed ({exc}); they are published once REST answers",
            )
            return False
        if self._behind:
            self._behind = False
            self._rest_backoff.reset()
            if self._connected:
                self._health.restored()
        return True

    def _trouble(self, doing: str, detail: str) -> None:
        """FEED_STALE while the market is open; while it is closed, a log line is enough."""
        if self.market_open:
            self._health.stale(doing, detail)
        else:
            log.info("oanda stream trouble while the market is closed", detail=detail)

    def _delay_after(self, exc: VenueError, rest: bool = False) -> float:
        if isinstance(exc, RateLimited):
            return exc.retry_after
        return (self._rest_backoff if rest else self._backoff).next()


def _is_heartbeat(message: StreamPrice | StreamHeartbeat) -> bool:
    return isinstance(message, StreamHeartbeat)
