"""Download Binance klines into a candle file that resumes where it stopped (see
`trading_bot.venues.candle_file`)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from trading_bot.venues.binance.rest import BinanceRest
from trading_bot.venues.binance.schemas import RestKline
from trading_bot.venues.binance.stream import interval_ms
from trading_bot.venues.candle_file import CandleFile, Download, Progress

__all__ = ["Download", "download_klines"]


async def download_klines(
    rest: BinanceRest,
    symbol: str,
    interval: str,
    start_ms: int,
    end_ms: int,
    out: Path,
    progress: Progress | None = None,
) -> Download:
    """Write the closed `interval` candles of `symbol` ("BTC/USDT") opening in [start_ms,
    end_ms) to `out`, after any candles it already holds."""
    timeframe = interval_ms(interval)
    writer = CandleFile(out, timeframe)
    resumed_after = writer.resumed_after
    first = start_ms if resumed_after is None else max(start_ms, resumed_after + timeframe)
    venue_symbol = (await rest.markets()).venue_symbol(symbol)
    now = await rest.server_time()
    last = min(end_ms - 1, now - round(rest.settings.settle_s * 1000) - timeframe)
    expected = max(0, (last - first) // timeframe + 1)
    written, last_open = 0, resumed_after
    try:
        async for page in rest.iter_klines(venue_symbol, interval, first, last):
            writer.add(_frame(page))
            written += len(page)
            last_open = page[-1].open_time
            if progress is not None:
                progress(written, expected)
    finally:
        writer.close()
    return Download(written, resumed_after, last_open)


def _frame(page: Sequence[RestKline]) -> pd.DataFrame:
    index = pd.DatetimeIndex(
        pd.to_datetime([k.open_time for k in page], unit="ms", utc=True), name="time"
    )
    columns = {
        "open": [k.open for k in page],
        "high": [k.high for k in page],
        "low": [k.low for k in page],
        "close": [k.close for k in page],
        "volume": [k.volume for k in page],
    }
    return pd.DataFrame(columns, index=index)
