from __future__ import annotations

import gzip
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from trading_bot.core.model import Candle
from trading_bot.data.files import (
    DataFileError,
    frame_to_arrays,
    infer_timeframe_ms,
    iter_candles,
    load_candles,
    save_candles,
)

HEADER = "time,open,high,low,close,volume\n"
GOOD_ROW = "2021-01-01T00:00:00Z,100,101,99,100.5,3\n"

# From shared/data/README.md: rows, timeframe, first candle, extra columns.
REAL_FILES = [
    ("binance-BTCUSDT-1h.csv.gz", 34_348, 3_600_000, "2017-08-17", []),
    ("binance-BTCUSDT-5m.csv.gz", 65_741, 300_000, "2020-12-01", []),
    ("binance-ETHUSDT-5m.csv.gz", 65_742, 300_000, "2020-12-01", []),
    ("oanda-EURUSD-1h.csv.gz", 56_007, 3_600_000, "2007-01-01", ["spread"]),
    ("histdata-EURUSD-1m.csv.gz", 186_348, 60_000, "2017-01-02", []),
    ("mt5-EURUSD-15m.csv.gz", 24_424, 900_000, "2022-10-10", []),
]


@pytest.mark.parametrize(("name", "rows", "timeframe_ms", "first_day", "extra"), REAL_FILES)
def test_loads_each_real_file_in_the_common_frame_shape(
    shared_data: Path, name: str, rows: int, timeframe_ms: int, first_day: str, extra: list[str]
) -> None:
    frame = load_candles(shared_data / name)

    assert len(frame) == rows
    assert list(frame.columns) == ["open", "high", "low", "close", "volume", *extra]
    assert all(frame[c].dtype == np.float64 for c in ["open", "high", "low", "close", "volume"])
    assert isinstance(frame.index, pd.DatetimeIndex)
    assert frame.index.name == "time"
    assert str(frame.index.tz) == "UTC"
    assert frame.index.is_monotonic_increasing and frame.index.is_unique
    assert frame.index[0].strftime("%Y-%m-%d") == first_day
    assert infer_timeframe_ms(frame) == timeframe_ms
    # Gaps are real and kept: the span holds more slots than there are candles.
    span = (frame.index[-1] - frame.index[0]) // pd.Timedelta(milliseconds=timeframe_ms) + 1
    assert span > rows


def test_real_prices_come_through_unchanged(shared_data: Path) -> None:
    frame = load_candles(shared_data / "oanda-EURUSD-1h.csv.gz")

    first = frame.iloc[0]
    assert frame.index[0] == pd.Timestamp("2007-01-01T21:00:00Z")
    assert (first.open, first.high, first.low, first.close) == (1.31977, 1.32005, 1.3192, 1.31985)
    assert first.volume == 0.0 and first.spread == 0.001


def test_frame_to_arrays_gives_epoch_ms_and_float_columns(shared_data: Path) -> None:
    frame = load_candles(shared_data / "binance-BTCUSDT-5m.csv.gz")

    times, open_, high, low, close, volume = frame_to_arrays(frame)

    assert times.dtype == np.int64 and times[0] == 1_606_780_800_000  # 2020-12-01T00:00Z
    assert np.all(np.diff(times) > 0)
    for array, column in zip((open_, high, low, close, volume), frame.columns, strict=True):
        assert array.dtype == np.float64
        np.testing.assert_array_equal(array, frame[column].to_numpy())


def test_iter_candles_yields_each_row_as_a_closed_candle(shared_data: Path) -> None:
    frame = load_candles(shared_data / "mt5-EURUSD-15m.csv.gz")

    candles = list(iter_candles(frame, "EURUSD", 900_000))

    assert len(candles) == len(frame)
    assert candles[0] == Candle(
        "EURUSD", 900_000, 1_665_360_000_000, 0.97312, 0.97369, 0.97312, 0.97357, 60.0
    )
    assert all(c.closed for c in candles)
    assert [c.open_time for c in candles] == frame_to_arrays(frame)[0].tolist()


@pytest.mark.parametrize("name", ["copy.csv", "copy.csv.gz", "copy.parquet"])
def test_save_then_load_gives_the_same_frame(shared_data: Path, tmp_path: Path, name: str) -> None:
    original = load_candles(shared_data / "oanda-EURUSD-1h.csv.gz").iloc[:2_000]

    save_candles(original, tmp_path / name)

    pd.testing.assert_frame_equal(load_candles(tmp_path / name), original)


def test_saved_csv_uses_the_shared_data_format(tmp_path: Path) -> None:
    frame = load_candles(_write(tmp_path / "in.csv", HEADER + GOOD_ROW))

    save_candles(frame, tmp_path / "out.csv.gz")

    with gzip.open(tmp_path / "out.csv.gz", "rt") as text:
        assert text.read() == "time,open,high,low,close,volume\n" + GOOD_ROW.replace(
            "100,101,99,100.5,3", "100.0,101.0,99.0,100.5,3.0"
        )


def test_parquet_keeps_labels_such_as_synthetic(tmp_path: Path) -> None:
    frame = load_candles(_write(tmp_path / "in.csv", HEADER + GOOD_ROW))
    frame.attrs["synthetic"] = True

    save_candles(frame, tmp_path / "out.parquet")

    assert load_candles(tmp_path / "out.parquet").attrs["synthetic"] is True


@pytest.mark.parametrize(
    "times", [["1609459200", "1609459260"], ["1609459200000", "1609459260000"]], ids=["s", "ms"]
)
def test_accepts_epoch_seconds_and_milliseconds(tmp_path: Path, times: list[str]) -> None:
    rows = "".join(f"{t},1,2,0.5,1.5,0\n" for t in times)

    frame = load_candles(_write(tmp_path / "epoch.csv", HEADER + rows))

    assert list(frame.index) == [
        pd.Timestamp("2021-01-01T00:00:00Z"),
        pd.Timestamp("2021-01-01T00:01:00Z"),
    ]


def test_sorts_unsorted_rows_and_accepts_a_capitalised_header(tmp_path: Path) -> None:
    text = (
        "Time,Open,High,Low,Close,Volume\n"
        "2021-01-01T00:02:00Z,3,3,3,3,0\n"
        "2021-01-01T00:00:00Z,1,1,1,1,0\n"
        "2021-01-01T00:01:00Z,2,2,2,2,0\n"
    )

    frame = load_candles(_write(tmp_path / "unsorted.csv", text))

    assert frame.index.is_monotonic_increasing
    assert frame["close"].tolist() == [1.0, 2.0, 3.0]


def test_infer_timeframe_takes_the_most_common_step_despite_gaps(tmp_path: Path) -> None:
    minutes = [0, 1, 2, 3, 10, 11, 12, 30, 31]
    rows = "".join(f"2021-01-01T00:{m:02d}:00Z,1,1,1,1,0\n" for m in minutes)

    assert infer_timeframe_ms(load_candles(_write(tmp_path / "gaps.csv", HEADER + rows))) == 60_000


def test_infer_timeframe_needs_two_candles(tmp_path: Path) -> None:
    frame = load_candles(_write(tmp_path / "one.csv", HEADER + GOOD_ROW))

    with pytest.raises(ValueError, match="from 1 candle"):
        infer_timeframe_ms(frame)


BAD_CSV = {
    "header only": (HEADER, r"the file has a header but no candles"),
    "missing column": (
        "time,open,high,low,close\n2021-01-01T00:00:00Z,1,1,1,1\n",
        r"missing column 'volume' \(found: time, open, high, low, close\)",
    ),
    "unparseable time": (
        HEADER + GOOD_ROW + "yesterday,1,1,1,1,0\n",
        r"line 3: time 'yesterday' is not an ISO-8601 UTC time",
    ),
    "non-numeric price": (
        HEADER + GOOD_ROW.replace(",101,", ",abc,"),
        r"line 2 \(2021-01-01T00:00:00Z\): high 'abc' is not a number",
    ),
    "missing price": (
        HEADER + GOOD_ROW + "2021-01-01T00:01:00Z,1,1,1,,0\n",
        r"line 3 \(2021-01-01T00:01:00Z\): close .* is not a number",
    ),
    "zero price": (
        HEADER + GOOD_ROW + "2021-01-01T00:01:00Z,1,1,0,1,0\n",
        r"line 3 \(2021-01-01T00:01:00Z\): a price is zero or negative \(.*low 0.0",
    ),
    "negative price": (
        HEADER + "2021-01-01T00:00:00Z,-1,1,-1,1,0\n",
        r"line 2 .*: a price is zero or negative",
    ),
    "negative volume": (
        HEADER + "2021-01-01T00:00:00Z,1,1,1,1,-5\n",
        r"line 2 .*: the volume is negative \(.*volume -5.0\)",
    ),
    "high below close": (
        HEADER + "2021-01-01T00:00:00Z,1,1.5,0.5,2,0\n",
        r"line 2 \(2021-01-01T00:00:00Z\): high is below open or close "
        r"\(open 1.0, high 1.5, low 0.5, close 2.0, volume 0.0\); fix or remove the row",
    ),
    "low above open": (
        HEADER + "2021-01-01T00:00:00Z,1,2,1.2,1.5,0\n",
        r"line 2 .*: low is above open or close",
    ),
    "duplicate time": (
        HEADER + GOOD_ROW + GOOD_ROW.replace(":00:00Z", ":01:00Z") + GOOD_ROW,
        r"line 4 \(2021-01-01T00:00:00Z\) repeats the time of line 2; remove one of the two",
    ),
    "ragged row": (
        HEADER + GOOD_ROW + "2021-01-01T00:01:00Z,1,1,1,1,0,7\n",
        r"not a readable CSV file",
    ),
}


@pytest.mark.parametrize(("text", "message"), BAD_CSV.values(), ids=BAD_CSV.keys())
def test_bad_csv_files_fail_with_one_clear_sentence(
    tmp_path: Path, text: str, message: str
) -> None:
    path = _write(tmp_path / "bad.csv", text)

    with pytest.raises(DataFileError, match=rf"^{re.escape(str(path))}: {message}"):
        load_candles(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataFileError, match=r"nowhere.csv: file not found$"):
        load_candles(tmp_path / "nowhere.csv")


@pytest.mark.parametrize("name", ["candles.txt", "candles.json", "candles.gz"])
def test_unknown_extension(tmp_path: Path, name: str) -> None:
    path = _write(tmp_path / name, HEADER + GOOD_ROW)

    with pytest.raises(
        DataFileError, match=r"unknown file type; name it .csv, .csv.gz or .parquet"
    ):
        load_candles(path)
    with pytest.raises(DataFileError, match=r"unknown file type"):
        save_candles(pd.DataFrame(), path)


def test_empty_file(tmp_path: Path) -> None:
    with pytest.raises(DataFileError, match=r"the file is empty; expected a header line"):
        load_candles(_write(tmp_path / "empty.csv", ""))


def test_corrupt_gzip(tmp_path: Path) -> None:
    with pytest.raises(DataFileError, match=r"not a readable CSV file"):
        load_candles(_write(tmp_path / "broken.csv.gz", HEADER + GOOD_ROW))


def test_corrupt_parquet(tmp_path: Path) -> None:
    with pytest.raises(DataFileError, match=r"broken.parquet: not a readable Parquet file"):
        load_candles(_write(tmp_path / "broken.parquet", HEADER + GOOD_ROW))


def test_parquet_rows_are_named_by_row_number(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {
            "time": pd.to_datetime(["2021-01-01T00:00Z", "2021-01-01T00:01Z"], utc=True),
            "open": [1.0, 1.0],
            "high": [1.0, 0.5],
            "low": [1.0, 0.5],
            "close": [1.0, 1.0],
            "volume": [0.0, 0.0],
        }
    )
    frame.to_parquet(tmp_path / "bad.parquet")

    with pytest.raises(DataFileError, match=r"row 2 \(2021-01-01T00:01:00Z\): high is below"):
        load_candles(tmp_path / "bad.parquet")


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path
