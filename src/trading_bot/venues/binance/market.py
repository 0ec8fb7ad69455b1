"""Binance spot public market data as a `Market`: paper trading on live candles needs no key."""

from __future__ import annotations

from collections.abc import Coroutine, Sequence
from typing import Any

from trading_bot.core.clock import WallClock
from trading_bot.core.hub import EventHub
from trading_bot.core.model import Candle, Instrument
from trading_bot.core.settings import InstrumentSettings
from trading_bot.data.timeframes import parse_timeframe
from trading_bot.venues.binance.config import BinanceSettings
from trading_bot.venues.binance.feed import BinanceFeed
from trading_bot.venues.binance.markets import Markets
from trading_bot.venues.binance.rest import BinanceRest
from trading_bot.venues.market import LastClosed


class BinanceMarket:
    def __init__(self, settings: BinanceSettings, *, poll_only: bool = False) -> None:
        self.settings = settings
        self.poll_only = poll_only
        self.symbol = settings.symbol
        self.interval = settings.timeframe
        self.timeframe_ms = parse_timeframe(settings.timeframe)
        self.synthetic = False
        self.clock = WallClock()
        self.rest = BinanceRest(settings, self.clock)
        self.markets: Markets | None = None

    async def prepare(self, fallback: InstrumentSettings) -> Instrument:
        """The symbol's rules from exchangeInfo (tick size, lot step, minimum notional)."""
        self.markets = await self.rest.markets()
        return self.markets.instrument(self.symbol)

    def instrument(self, symbol: str) -> Instrument:
        """Another symbol's rules (ValueError names one Binance does not list)."""
        assert self.markets is not None, "prepare() first"
        return self.markets.instrument(symbol)

    async def history(
        self, until_open_time: int | None, count: int, symbol: str | None = None
    ) -> list[Candle]:
        assert self.markets is not None, "prepare() first"
        symbol = symbol or self.symbol
        venue_symbol, tf = self.markets.venue_symbol(symbol), self.timeframe_ms
        if until_open_time is None:
            now = await self.rest.server_time()
            until_open_time = now - now % tf - tf  # the latest closed candle
        start = until_open_time - (count - 1) * tf
        candles: list[Candle] = []
        async for page in self.rest.iter_klines(
            venue_symbol, self.interval, start, until_open_time
        ):
            candles += [
                Candle(symbol, tf, k.open_time, k.open, k.high, k.low, k.close, k.volume)
                for k in page
            ]
        return candles[-count:]

    def feed(
        self, hub: EventHub, last_closed: LastClosed, symbols: Sequence[str] | None = None
    ) -> Coroutine[Any, Any, None]:
        """One connection for every symbol (default: the configured one)."""
        feed = BinanceFeed(
            hub,
            self.clock,
            self.rest,
            self.settings,
            symbols or [self.symbol],
            self.interval,
            last_closed,
            poll_only=self.poll_only,
        )
        return feed.run()

    def describe(self) -> str:
        where = "the Binance spot testnet" if self.settings.testnet else "Binance spot"
        how = ", polled over REST at each close (sync mode)" if self.poll_only else ""
        return f"{where} public market data ({self.settings.rest_url}{how})"

    async def close(self) -> None:
        await self.rest.close()
