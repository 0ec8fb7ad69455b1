"""The scanner's view of Binance spot: 24 h tickers (`GET /api/v3/ticker/24hr`) and klines,
through the bot's own `BinanceRest`, so that its pacing, retries and error translation apply."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

import msgspec

from trading_bot.services.scanner import Bar, Ticker
from trading_bot.venues.binance.markets import Markets
from trading_bot.venues.binance.rest import BinanceRest, decode_reply

TICKER_PATH = "/api/v3/ticker/24hr"


class Ticker24hr(msgspec.Struct, rename="camel"):
    """The fields read of a FULL 24 h ticker; Binance sends numbers as strings."""

    symbol: str
    last_price: Decimal
    price_change_percent: Decimal
    quote_volume: Decimal


def ticker_weight(symbols: int) -> int:
    """Binance's request weight of the ticker for that many symbols."""
    return 2 if symbols <= 20 else 40 if symbols <= 100 else 80


class BinanceScanSource:
    def __init__(self, rest: BinanceRest, markets: Markets) -> None:
        self.rest = rest
        self.markets = markets

    async def tickers(self, symbols: Sequence[str]) -> list[Ticker]:
        venue = [self.markets.venue_symbol(symbol) for symbol in symbols]
        # BinanceRest paces unknown paths at weight 1: announce the rest of this one's weight
        await self.rest.pacer.wait(ticker_weight(len(venue)) - 1)
        params = {"symbols": msgspec.json.encode(venue).decode()}
        body = await self.rest._get(TICKER_PATH, params)
        rows = decode_reply(TICKER_PATH, body, list[Ticker24hr])
        tickers = []
        for row in rows:
            ours = self.markets.symbol(row.symbol)
            if ours is not None:
                tickers.append(
                    Ticker(ours, row.last_price, row.price_change_percent, row.quote_volume)
                )
        return tickers

    async def bars(self, symbol: str, interval: str, limit: int) -> list[Bar]:
        klines = await self.rest.klines(self.markets.venue_symbol(symbol), interval, limit=limit)
        return [Bar(k.high, k.low, k.close) for k in klines]
