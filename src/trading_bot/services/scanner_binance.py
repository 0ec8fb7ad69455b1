"""The scanner's view of Binance spot: 24 h tickers (`GET /api/v3/ticker/24hr`) and klines,
through the bot's own `BinanceRest`, so that its pacing, retries and error translation apply."""

from __future__ import annotations

from collections.abc import Sequence

from trading_bot.services.scanner import Bar, Ticker
from trading_bot.venues.binance.markets import Markets
from trading_bot.venues.binance.rest import BinanceRest

TRADING = "TRADING"  # a symbol's status while it can be traded


class BinanceScanSource:
    def __init__(self, rest: BinanceRest, markets: Markets) -> None:
        self.rest = rest
        self.markets = markets

    async def tickers(self, symbols: Sequence[str] | None) -> list[Ticker]:
        """One request whatever the count; with None, every symbol Binance trades now."""
        venue = None if symbols is None else [self.markets.venue_symbol(s) for s in symbols]
        tickers = []
        for row in await self.rest.ticker_24hr(venue):
            ours = self.markets.symbol(row.symbol)
            if ours is None or self.markets.market(ours).status != TRADING:
                continue
            tickers.append(
                Ticker(
                    ours,
                    row.last_price,
                    row.price_change_percent,
                    row.quote_volume,
                    row.bid_price,
                    row.ask_price,
                )
            )
        return tickers

    async def bars(self, symbol: str, interval: str, limit: int) -> list[Bar]:
        klines = await self.rest.klines(self.markets.venue_symbol(symbol), interval, limit=limit)
        return [Bar(k.high, k.low, k.close) for k in klines]
