"""A candle file that downloads resume: whatever the venue, candles go to disk page by page.

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

from trading_bot.core.model import Candle
from trading_bot.data.files import (
    COLUMNS,
    ISO_FORMAT,
    DataFileError,
    frame_to_arrays,
    infer_timeframe_ms,
    load_candles,
    save_candles,
)
from trading_bot.data.timeframes import format_timeframe

Progress = Callable[[int, int], None]  # (candles written so far, candles expected in all)
SUFFIXES = (".csv", ".csv.gz", ".parquet")


@dataclass(frozen=True)
class Download:
    written: int  # candles added to the file
    resumed_after: int | None  # open time of the file's last candle before, if it had any
    last_open: int | None  # open time of the file's last candle now


class CandleFile:
    """`out` opened for appending candles of `timeframe_ms`; `resumed_after` is the open time
    of its last candle (None: empty or new). Call `close()` when done, also after a failure."""

    def __init__(self, out: Path, timeframe_ms: int) -> None:
        if not out.name.lower().endswith(SUFFIXES):
            raise DataFileError(f"{out}: unknown file type; name it .csv, .csv.gz or .parquet")
        existing = load_candles(out) if out.is_file() and out.stat().st_size else None
        self.resumed_after = _checked_last_open(existing, timeframe_ms, out)
        self._writer = (
            _ParquetWriter(out, existing) if out.name.endswith(".parquet") else _CsvWriter(out)
        )

    def add(self, frame: pd.DataFrame) -> None:
        self._writer.add(frame)

    def close(self) -> None:
        self._writer.close()


def candles_frame(candles: Sequence[Candle]) -> pd.DataFrame:
    """Candles as the frame `save_candles` writes."""
    index = pd.DatetimeIndex(pd.to_datetime([c.open_time for c in candles], unit="ms", utc=True))
    rows = [(c.open, c.high, c.low, c.close, c.volume) for c in candles]
    return pd.DataFrame(rows, columns=list(COLUMNS), index=index.rename("time"))


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
