"""OANDA v20 (forex): market data from the pricing stream with every closed candle from REST,
and trading with each entry's stop and target carried by OANDA on the trade.

Layout, as every venue: `config` (the `[oanda]` section), `schemas` (typed wire messages),
`instruments` (names, granularities and rules: the one place ours meet OANDA's), `rest`,
`stream` (OANDA's newline-delimited JSON streams), `feed`, `market` (the app's market-data view)
and `download`; for trading `trading` (orders over REST, exactly once), `transactions` (the
account's transactions stream), `broker` (the pipeline's `Broker`) and `live` (the app's
`LiveVenue`: reconciliation at start).
"""

from trading_bot.venues.oanda.broker import OandaBroker
from trading_bot.venues.oanda.config import OandaSettings
from trading_bot.venues.oanda.download import download_candles
from trading_bot.venues.oanda.feed import OandaFeed
from trading_bot.venues.oanda.live import OandaLive
from trading_bot.venues.oanda.market import OandaMarket
from trading_bot.venues.oanda.rest import OandaRest
from trading_bot.venues.oanda.trading import OandaTrading
from trading_bot.venues.oanda.transactions import OandaTransactions

__all__ = [
    "OandaBroker",
    "OandaFeed",
    "OandaLive",
    "OandaMarket",
    "OandaRest",
    "OandaSettings",
    "OandaTrading",
    "OandaTransactions",
    "download_candles",
]
