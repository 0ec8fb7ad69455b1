"""Download Binance klines into a candle file that resumes where it stopped.

The file is in the format `trading_bot.data.files.load_candles` reads, chosen by its name: CSV,
gzip CSV or Parquet. A file that already holds candles is continued after its last one. CSV is
appended page by page (gzip gets one member per page, which readers join), so an interrupted
download loses at most the page in flight; Parquet cannot be appended, so it is rewritten once at
the end, or with what was fetched when the download fails.
"""

from __future__ import annotations

import gzip
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import pandas as pd

from trading_bot.data.files import (
    ISO_FORMAT,
    DataFileError,
    frame_to_arrays,
    infer_timeframe_ms,
    load_candles,
    save_candles,
)
from trading_bot.data.timeframes import format_timeframe
from trading_bot.venues.binance.rest import BinanceRest
from trading_bot.venues.binance.schemas import RestKline
from trading_bot.venues.binance.stream import interval_ms

Progress = Callable[[int, int], None]  # (candles written so far, candles expected in all)
SUFFIXES = (".csv", ".csv.gz", ".parquet")


@dataclass(frozen=True)
class Download:
    written: int  # candles added to the file
    resumed_after: int | None  # open time of the file's last candle before, if it had any
    last_open: int | None  # open time of the file's last candle now


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
    if not out.name.lower().endswith(SUFFIXES):
        raise DataFileError(f"{out}: unknown file type; name it .csv, .csv.gz or .parquet")
    existing = load_candles(out) if out.is_file() and out.stat().st_size else None
    resumed_after = _checked_last_open(existing, timeframe, out)
    first = start_ms if resumed_after is None else max(start_ms, resumed_after + timeframe)
    venue_symbol = (await rest.markets()).venue_symbol(symbol)
    now = await rest.server_time()
    last = min(end_ms - 1, now - round(rest.settings.settle_s * 1000) - timeframe)
    expected = max(0, (last - first) // timeframe + 1)
    writer = _ParquetWriter(out, existing) if out.name.endswith(".parquet") else _CsvWriter(out)
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


def _checked_last_open(existing: pd.DataFrame | None, timeframe: int, out: Path) -> int | None:
    if existing is None:
        return None
    if len(existing) > 1 and infer_timeframe_ms(existing) != timeframe:
        found = format_timeframe(infer_timeframe_ms(existing))
        raise DataFileError(
            f"{out}: holds {found} candles, not {format_timeframe(timeframe)}; "
            "download into another file"
        )
    return int(frame_to_arrays(existing)[0][-1])


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


class _CsvWriter:
    """The first page through `save_candles` (header and all), the next ones appended."""

    def __init__(self, out: Path) -> None:
        self._out = out
        self._started = out.is_file() and out.stat().st_size > 0

    def add(self, frame: pd.DataFrame) -> None:
        if not self._started:
            save_candles(frame, self._out)
            self._started = True
            return
        handle: TextIO
        with (
            gzip.open(self._out, "at", encoding="utf-8")
            if self._out.name.lower().endswith(".gz")
            else self._out.open("a", encoding="utf-8")
        ) as handle:
            frame.to_csv(handle, header=False, date_format=ISO_FORMAT)

    def close(self) -> None:
        """Nothing is held back: every page is on disk once `add` returns."""


class _ParquetWriter:
    def __init__(self, out: Path, existing: pd.DataFrame | None) -> None:
        self._out = out
        self._frames = [] if existing is None else [existing]
        self._added = False

    def add(self, frame: pd.DataFrame) -> None:
        self._frames.append(frame)
        self._added = True

    def close(self) -> None:
        if self._added:
            save_candles(pd.concat(self._frames), self._out)
