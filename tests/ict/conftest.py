"""Shared ground for the ICT indicator tests: random valid candles, real candle files, candles
fed one by one, and the "what was known by bar k" view of a batch result."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import strategies as st

from trading_bot.core.model import Candle
from trading_bot.data.files import infer_timeframe_ms, iter_candles, load_candles

T0 = 1_609_459_200_000  # 2021-01-01T00:00:00Z
MINUTE = 60_000
EURUSD_15M = "mt5-EURUSD-15m.csv.gz"
BTCUSDT_1H = "binance-BTCUSDT-1h.csv.gz"

# One candle as small integers (price ticks): gap from the previous close, body, upper and
# lower wick. Small ranges make equal highs, equal lows and outside bars common, which is
# where tie rules and ordering bugs hide.
_CANDLE = st.tuples(st.integers(-2, 2), st.integers(-6, 6), st.integers(0, 4), st.integers(0, 4))


def frame_from_ticks(rows: list[tuple[int, int, int, int]]) -> pd.DataFrame:
    """Valid OHLC candles (high >= max(open, close), low <= min(open, close), prices > 0)."""
    steps = np.array(rows, dtype=np.int64).reshape(-1, 4)
    gap, body, upper, lower = steps.T
    # Each open is the previous close plus the gap: a random walk well above zero.
    opens = 10_000 + np.cumsum(gap + np.concatenate(([0], body[:-1])))
    closes = opens + body
    times = pd.to_datetime(T0 + MINUTE * np.arange(len(rows)), unit="ms", utc=True)
    return pd.DataFrame(
        {
            "open": opens.astype(np.float64),
            "high": (np.maximum(opens, closes) + upper).astype(np.float64),
            "low": (np.minimum(opens, closes) - lower).astype(np.float64),
            "close": closes.astype(np.float64),
            "volume": np.ones(len(rows)),
        },
        index=pd.DatetimeIndex(times, name="time"),
    )


def _swinging_ticks(seed: int, size: int) -> list[tuple[int, int, int, int]]:
    """Candles that trend one way, then the other, every few dozen bars: long random lists
    rarely do, and breaks against the trend (CHoCH) and invalidated blocks need it."""
    rng = np.random.default_rng(seed)
    drift = np.repeat(rng.integers(-3, 4, size // 8 + 1), 8)[:size]
    body = np.clip(drift + rng.integers(-4, 5, size), -9, 9)
    rows = zip(
        rng.integers(-1, 2, size),
        body,
        rng.integers(0, 4, size),
        rng.integers(0, 4, size),
        strict=True,
    )
    return [(int(g), int(b), int(u), int(d)) for g, b, u, d in rows]


def ohlc_frames(min_size: int = 1, max_size: int = 150) -> st.SearchStrategy[pd.DataFrame]:
    """Random valid candles: short, shrinkable lists, or long seeded runs with trends."""
    listed = st.lists(_CANDLE, min_size=min_size, max_size=max_size)
    seeded = st.builds(
        _swinging_ticks,
        st.integers(0, 2**32 - 1),
        st.integers(max(min_size, max_size // 2), max_size),
    )
    return st.one_of(listed, seeded).map(frame_from_ticks)


def candles(frame: pd.DataFrame) -> list[Candle]:
    """The frame's rows as closed candles, in order, as a live feed delivers them."""
    timeframe = infer_timeframe_ms(frame) if len(frame) > 1 else MINUTE
    return list(iter_candles(frame, "TEST", timeframe))


def records_frame(
    records: Iterable[Any], index: pd.Index, columns: dict[str, tuple[str, float]]
) -> pd.DataFrame:
    """A batch-shaped frame rebuilt from what a tracker emitted: each record fills the row at
    its `index`, a later record of the same row replacing an earlier one (a mitigation
    replaces the gap as first reported). `columns` maps a column to the record's attribute
    and the blank of rows without a record (NaN for a float column, -1 for an integer one)."""
    latest = {record.index: record for record in records}
    rows = np.fromiter(latest, dtype=np.int64, count=len(latest))
    data = {}
    for column, (attribute, blank) in columns.items():
        values = np.full(len(index), blank)
        values[rows] = [getattr(record, attribute) for record in latest.values()]
        data[column] = values
    return pd.DataFrame(data, index=index)


def known_at(
    full: pd.DataFrame, end: int, known: str | None = None, events: tuple[str, ...] = ()
) -> pd.DataFrame:
    """What the full result says that was already known at the close of bar position `end`:
    its first end+1 rows, with rows whose `known` position is later than `end` blanked (NaN,
    or -1 in integer columns) and `events` positions later than `end` reset to -1."""
    view = full.iloc[: end + 1].copy()
    if known is not None:
        later = view[known].to_numpy() > end
        for column in view.columns:
            blank = -1 if pd.api.types.is_integer_dtype(view[column]) else np.nan
            view.loc[later, column] = blank
    for column in events:
        view.loc[view[column].to_numpy() > end, column] = -1
    return view


def assert_causal(
    indicator: Callable[[pd.DataFrame], pd.DataFrame],
    frame: pd.DataFrame,
    ends: Sequence[int] | None = None,
    known: str | None = None,
    events: tuple[str, ...] = (),
) -> None:
    """The indicator run on each prefix frame[: end + 1] says exactly what the full run had
    known by bar `end`: nothing later leaks in, nothing known is missing or rewritten. By
    default about 30 ends spread over the frame, the last bar among them."""
    full = indicator(frame)
    if ends is None:
        ends = range(len(frame) - 1, -1, -max(1, len(frame) // 30))
    for end in ends:
        prefix = indicator(frame.iloc[: end + 1])
        pd.testing.assert_frame_equal(prefix, known_at(full, end, known, events))


@pytest.fixture(scope="session")
def eurusd_15m(shared_data: Path) -> pd.DataFrame:
    return load_candles(shared_data / EURUSD_15M)


@pytest.fixture(scope="session")
def btcusdt_1h(shared_data: Path) -> pd.DataFrame:
    return load_candles(shared_data / BTCUSDT_1H)


@pytest.fixture(scope="session", params=["eurusd_15m", "btcusdt_1h"])
def real_frame(request: pytest.FixtureRequest) -> pd.DataFrame:
    """Each real file in turn."""
    frame: pd.DataFrame = request.getfixturevalue(request.param)
    return frame
