"""Binance spot: market data over combined WebSocket streams with REST backfill, and signed
trading with exactly-once order placement, a broker for the pipeline and the user data stream.

Layout, as every venue: `config` (the `[binance]` section), `schemas` (typed wire messages),
`markets` (symbols and rules from exchangeInfo), `rest`, `stream`, `feed`, `market` (the app's
market-data view), `download`, `websocket_manager` (the feed on its own, by the original
specification's name), and for trading `trading`, `broker`, `user_data`, `safety` and `live`
(all of it for a live run, with the start-up reconciliation).
"""

from __future__ import annotations

from trading_bot.venues.lazy import lazy_exports

# Public names, imported when first used (see `venues.lazy`).
_EXPORTS = {
    "ApiCredentials": "rest",
    "BinanceBroker": "broker",
    "BinanceFeed": "feed",
    "BinanceRest": "rest",
    "BinanceSettings": "config",
    "BinanceTrading": "trading",
    "BinanceUserData": "user_data",
    "BinanceWebSocketManager": "websocket_manager",
    "Download": "download",
    "Market": "markets",
    "Markets": "markets",
    "ReconnectionConfig": "websocket_manager",
    "check_api_key": "safety",
    "create_binance_websocket_manager": "websocket_manager",
    "download_klines": "download",
    "sign": "rest",
    "signed_query": "rest",
}
__all__ = sorted(_EXPORTS)

__getattr__ = lazy_exports(__name__, _EXPORTS)
