"""Binance spot: market data over combined WebSocket streams with REST backfill (trading later).

Layout, as every venue: `config` (the `[binance]` section), `schemas` (typed wire messages),
`markets` (symbols and rules from exchangeInfo), `rest`, `stream`, `feed` and `download`.
"""

from trading_bot.venues.binance.config import BinanceSettings
from trading_bot.venues.binance.download import Download, download_klines
from trading_bot.venues.binance.feed import BinanceFeed
from trading_bot.venues.binance.markets import Market, Markets
from trading_bot.venues.binance.rest import BinanceRest, sign, signed_query

__all__ = [
    "BinanceFeed",
    "BinanceRest",
    "BinanceSettings",
    "Download",
    "Market",
    "Markets",
    "download_klines",
    "sign",
    "signed_query",
]
