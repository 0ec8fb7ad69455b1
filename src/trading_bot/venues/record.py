"""Recording a market's closed candles exactly as the bot's feed delivers them to a strategy."""

from __future__ import annotations

import asyncio
from asyncio import FIRST_COMPLETED
from pathlib import Path

from trading_bot.core.events import CandleDataProcessed
from trading_bot.core.hub import EventHub
from trading_bot.core.model import Candle
from trading_bot.data.files import save_candles
from trading_bot.data.processor import DataProcessor
from trading_bot.venues.candle_file import candles_frame
from trading_bot.venues.market import Market


async def record_candles(
    market: Market,
    out: Path,
    stop: asyncio.Event,
    duration_s: float | None = None,
    until_ms: int | None = None,
) -> int:
    """Run `market`'s feed through a DataProcessor and write every closed candle of its symbol
    and timeframe to `out` (CSV, .csv.gz or Parquet) once `stop` is set, `duration_s` has
    passed, or the candle opening at `until_ms` has closed. Returns the candles written."""
    hub = EventHub()
    processor = DataProcessor(hub)
    candles: list[Candle] = []

    def keep(event: CandleDataProcessed) -> None:
        c = event.candle
        if c.symbol == market.symbol and c.timeframe_ms == market.timeframe_ms:
            candles.append(c)
            if until_ms is not None and c.open_time >= until_ms:
                stop.set()

    hub.subscribe(CandleDataProcessed, keep)

    def last_closed(symbol: str) -> int | None:
        return processor.last_closed_time(symbol, market.timeframe_ms)

    feed = asyncio.create_task(market.feed(hub, last_closed))
    stopped = asyncio.create_task(stop.wait())
    try:
        await asyncio.wait([feed, stopped], timeout=duration_s, return_when=FIRST_COMPLETED)
    finally:
        for task in (feed, stopped):
            task.cancel()
        await asyncio.gather(feed, stopped, return_exceptions=True)
    save_candles(candles_frame(candles), out)
    return len(candles)
