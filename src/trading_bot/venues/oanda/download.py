"""Download OANDA candles into a candle file that resumes where it stopped (see
`trading_bot.venues.candle_file`): complete candles only, in the configured price (mid, bid or
ask), days aligned on midnight UTC. Forex has no candles while the market is closed: those gaps
stay gaps."""

from __future__ import annotations

from pathlib import Path

from trading_bot.data.timeframes import parse_timeframe
from trading_bot.venues.candle_file import CandleFile, Download, Progress, candles_frame
from trading_bot.venues.oanda.instruments import granularity
from trading_bot.venues.oanda.rest import OandaRest


async def download_candles(
    rest: OandaRest,
    symbol: str,
    timeframe: str,
    start_ms: int,
    end_ms: int,
    out: Path,
    progress: Progress | None = None,
) -> Download:
    """Write the complete `timeframe` candles of `symbol` ("EUR/USD") opening in [start_ms,
    end_ms) to `out`, after any candles it already holds. `progress` gets the candles written
    and the most there can be (weekends make the real count smaller)."""
    granularity(timeframe)  # ValueError naming what OANDA has, before touching the file
    tf = parse_timeframe(timeframe)
    writer = CandleFile(out, tf)
    resumed_after = writer.resumed_after
    first = start_ms if resumed_after is None else max(start_ms, resumed_after + tf)
    expected = max(0, (end_ms - 1 - first) // tf + 1)
    written, last_open = 0, resumed_after
    try:
        async for page in rest.iter_candles(symbol, timeframe, first, end_ms - 1):
            writer.add(candles_frame(page))
            written += len(page)
            last_open = page[-1].open_time
            if progress is not None:
                progress(written, expected)
    finally:
        writer.close()
    return Download(written, resumed_after, last_open)
