"""Historical candle files: CSV (plain or gzip) and Parquet, checked row by row on load.

Every loader and generator returns one frame shape: float64 columns open, high, low, close and
volume (plus any extra columns of the file, such as OANDA's `spread`) on a sorted UTC
`DatetimeIndex` named `time`, the candle's open time. Gaps stay gaps: nothing is ever filled,
because an invented candle is a price that never traded.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd

from trading_bot.core.errors import UserError
from trading_bot.core.model import Candle

PRICE_COLUMNS = ("open", "high", "low", "close")
COLUMNS = (*PRICE_COLUMNS, "volume")
ISO_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
# Epoch numbers at or above this are milliseconds: as seconds they would be past the year 5000.
_EPOCH_MS_FROM = 100_000_000_000

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


class DataFileError(UserError):
    """A candle file that cannot be used as it is; the message names the file, the place and
    what to do about it."""


def load_candles(path: Path | str) -> pd.DataFrame:
    """Read and check a candle file (.csv, .csv.gz or .parquet); unsorted rows are sorted."""
    path = Path(path)
    is_csv = _is_csv(path)
    if not path.is_file():
        raise DataFileError(f"{path}: file not found")
    raw = _read_csv(path) if is_csv else _read_parquet(path)
    # Rows are named as a person finds them: a CSV line (the header is line 1), a Parquet row.
    row_name = (lambda i: f"line {i + 2}") if is_csv else (lambda i: f"row {i + 1}")
    return _checked_frame(raw, path, row_name)


def save_candles(frame: pd.DataFrame, path: Path | str) -> None:
    """Write a candle frame in the format `load_candles` reads: CSV (gzip if the name ends in
    .gz) with ISO-8601 UTC times, or Parquet."""
    path = Path(path)
    if _is_csv(path):
        frame.to_csv(path, index_label="time", date_format=ISO_FORMAT)
    else:
        frame.to_parquet(path)


def infer_timeframe_ms(frame: pd.DataFrame) -> int:
    """The most common step between consecutive candles: gaps do not fool it."""
    times = _index_ms(frame)
    if len(times) < 2:
        raise ValueError(f"cannot infer a timeframe from {len(times)} candle(s): need two or more")
    steps, counts = np.unique(np.diff(times), return_counts=True)
    return int(steps[np.argmax(counts)])


def frame_to_arrays(
    frame: pd.DataFrame,
) -> tuple[IntArray, FloatArray, FloatArray, FloatArray, FloatArray, FloatArray]:
    """Open times (epoch ms) and open, high, low, close, volume as numpy arrays: iterating these
    is many times faster than iterating the frame."""

    def column(name: str) -> FloatArray:
        return frame[name].to_numpy(dtype=np.float64)

    return (
        _index_ms(frame),
        column("open"),
        column("high"),
        column("low"),
        column("close"),
        column("volume"),
    )


def iter_candles(frame: pd.DataFrame, symbol: str, timeframe_ms: int) -> Iterator[Candle]:
    """The frame's rows as closed candles, fast (a backtest iterates millions)."""
    times, opens, highs, lows, closes, volumes = frame_to_arrays(frame)
    rows = zip(
        times.tolist(),
        opens.tolist(),
        highs.tolist(),
        lows.tolist(),
        closes.tolist(),
        volumes.tolist(),
        strict=True,
    )
    for t, o, h, low, c, v in rows:
        yield Candle(symbol, timeframe_ms, t, o, h, low, c, v)


def _index_ms(frame: pd.DataFrame) -> IntArray:
    return pd.DatetimeIndex(frame.index).to_numpy(dtype="datetime64[ms]").astype(np.int64)


def _is_csv(path: Path) -> bool:
    name = path.name.lower()
    if name.endswith((".csv", ".csv.gz")):
        return True
    if name.endswith(".parquet"):
        return False
    raise DataFileError(f"{path}: unknown file type; name it .csv, .csv.gz or .parquet")


def _read_csv(path: Path) -> pd.DataFrame:
    if path.stat().st_size == 0:
        raise DataFileError(f"{path}: the file is empty; expected a header line and candles")
    try:
        # The pyarrow engine parses ISO-8601 times itself and is several times faster.
        return pd.read_csv(path, engine="pyarrow")
    except (ValueError, OSError, EOFError) as exc:
        raise DataFileError(f"{path}: not a readable CSV file ({exc})") from exc


def _read_parquet(path: Path) -> pd.DataFrame:
    try:
        raw = pd.read_parquet(path)
    except (ValueError, OSError) as exc:
        raise DataFileError(f"{path}: not a readable Parquet file ({exc})") from exc
    # A frame saved with its time index comes back with it: make it a column like in a CSV.
    return raw.reset_index() if raw.index.name == "time" else raw


def _checked_frame(raw: pd.DataFrame, path: Path, row_name: Callable[[int], str]) -> pd.DataFrame:
    raw.columns = pd.Index([str(column).strip().lower() for column in raw.columns])
    for column in ("time", *COLUMNS):
        if column not in raw.columns:
            found = ", ".join(map(str, raw.columns))
            raise DataFileError(
                f"{path}: missing column {column!r} (found: {found}); the header must be "
                "time,open,high,low,close,volume"
            )
    if raw.empty:
        raise DataFileError(f"{path}: the file has a header but no candles")
    times = _parse_times(raw["time"], path, row_name)

    def where(i: int) -> str:
        return f"{row_name(i)} ({times[i].strftime(ISO_FORMAT)})"

    values = {column: _numbers(raw[column], column, path, where) for column in COLUMNS}
    _check_prices(values, path, where)
    duplicated = np.flatnonzero(times.duplicated())
    if len(duplicated):
        i = int(duplicated[0])
        first = int(np.flatnonzero(times == times[i])[0])
        raise DataFileError(
            f"{path}: {where(i)} repeats the time of {row_name(first)}; remove one of the two"
        )
    frame = pd.DataFrame(values, index=times)
    frame.attrs.update(raw.attrs)  # Parquet keeps labels such as "synthetic": keep them too
    for column in raw.columns.difference(["time", *COLUMNS], sort=False):
        frame[column] = raw[column].to_numpy()
    return frame if times.is_monotonic_increasing else frame.sort_index(kind="stable")


def _parse_times(column: pd.Series, path: Path, row_name: Callable[[int], str]) -> pd.DatetimeIndex:
    if pd.api.types.is_datetime64_any_dtype(column):
        parsed = pd.to_datetime(column, utc=True)
    elif pd.api.types.is_numeric_dtype(column):
        unit = "ms" if column.abs().max() >= _EPOCH_MS_FROM else "s"
        parsed = pd.to_datetime(column, unit=unit, utc=True)
    else:
        parsed = pd.to_datetime(column, utc=True, format="ISO8601", errors="coerce")
    times = pd.DatetimeIndex(parsed, name="time").as_unit("ns")
    bad = np.flatnonzero(pd.isna(times))
    if len(bad):
        i = int(bad[0])
        raise DataFileError(
            f"{path}: {row_name(i)}: time {column.iloc[i]!r} is not an ISO-8601 UTC time "
            "(2021-01-01T00:00:00Z) nor epoch seconds or milliseconds"
        )
    return times


def _numbers(column: pd.Series, name: str, path: Path, where: Callable[[int], str]) -> FloatArray:
    numbers = pd.to_numeric(column, errors="coerce").to_numpy(dtype=np.float64)
    bad = np.flatnonzero(~np.isfinite(numbers))
    if len(bad):
        i = int(bad[0])
        raise DataFileError(
            f"{path}: {where(i)}: {name} {column.iloc[i]!r} is not a number; fix or remove the row"
        )
    return numbers


def _check_prices(values: dict[str, FloatArray], path: Path, where: Callable[[int], str]) -> None:
    open_, high, low, close, volume = (values[column] for column in COLUMNS)
    problems = (
        (np.minimum.reduce([open_, high, low, close]) <= 0, "a price is zero or negative"),
        (volume < 0, "the volume is negative"),
        (high < np.maximum(open_, close), "high is below open or close"),
        (low > np.minimum(open_, close), "low is above open or close"),
    )
    for mask, problem in problems:
        bad = np.flatnonzero(mask)
        if len(bad):
            i = int(bad[0])
            ohlcv = ", ".join(f"{column} {float(values[column][i])}" for column in COLUMNS)
            raise DataFileError(f"{path}: {where(i)}: {problem} ({ohlcv}); fix or remove the row")
