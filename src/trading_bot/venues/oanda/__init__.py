"""OANDA v20 (forex): market data from the pricing stream with every closed candle from REST,
and trading with each entry's stop and target carried by OANDA on the trade.

Layout, as every venue: `config` (the `[oanda]` section), `schemas` (typed wire messages),
`instruments` (names, granularities and rules: the one place ours meet OANDA's), `rest`,
`stream` (OANDA's newline-delimited JSON streams), `feed`, `market` (the app's market-data view)
and `download`; for trading `trading` (orders over REST, exactly once), `transactions` (the
account's transactions stream), `broker` (the pipeline's `Broker`) and `live` (the app's
`LiveVenue`: reconciliation at start).
"""

from __future__ import annotations

from trading_bot.venues.lazy import lazy_exports

# Public names, imported when first used (see `venues.lazy`).
_EXPORTS = {
    "OandaBroker": "broker",
    "OandaFeed": "feed",
    "OandaLive": "live",
    "OandaMarket": "market",
    "OandaRest": "rest",
    "OandaSettings": "config",
    "OandaTrading": "trading",
    "OandaTransactions": "transactions",
    "download_candles": "download",
}
__all__ = sorted(_EXPORTS)

__getattr__ = lazy_exports(__name__, _EXPORTS)
