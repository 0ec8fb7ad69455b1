"""Binance spot: market data over combined WebSocket streams with REST backfill, and signed
trading with exactly-once order placement, a broker for the pipeline and the user data stream.

Layout, as every venue: `config` (the `[binance]` section), `schemas` (typed wire messages),
`markets` (symbols and rules from exchangeInfo), `rest`, `stream`, `feed`, `market` (the app's
market-data view), `download`, `websocket_manager` (the feed on its own, by the original
specification's name), and for trading `trading`, `broker`, `user_data`, `safety` and `live`
(all of it for a live run, with the start-up reconciliation).
"""

from trading_bot.venues.binance.broker import BinanceBroker
from trading_bot.venues.binance.config import BinanceSettings
from trading_bot.venues.binance.download import Download, download_klines
from trading_bot.venues.binance.feed import BinanceFeed
from trading_bot.venues.binance.markets import Market, Markets
from trading_bot.venues.binance.rest import ApiCredentials, BinanceRest, sign, signed_query
from trading_bot.venues.binance.safety import check_api_key
from trading_bot.venues.binance.trading import BinanceTrading
from trading_bot.venues.binance.user_data import BinanceUserData
from trading_bot.venues.binance.websocket_manager import (
    BinanceWebSocketManager,
    ReconnectionConfig,
    create_binance_websocket_manager,
)

__all__ = [
    "ApiCredentials",
    "BinanceBroker",
    "BinanceFeed",
    "BinanceRest",
    "BinanceSettings",
    "BinanceTrading",
    "BinanceUserData",
    "BinanceWebSocketManager",
    "Download",
    "Market",
    "Markets",
    "ReconnectionConfig",
    "check_api_key",
    "create_binance_websocket_manager",
    "download_klines",
    "sign",
    "signed_query",
]
