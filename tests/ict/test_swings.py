"""Swing highs and lows: the definition, causality, and incremental == batch."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.ict.conftest import (
    assert_causal,
    candles,
    frame_from_ticks,
    ohlc_frames,
    records_frame,
)
from trading_bot.strategies.ict.indicators.swings import Swing, SwingTracker, swing_highs_lows


def swings_frame(swings: list[Swing], index: pd.Index) -> pd.DataFrame:
    columns = {
        "swing": ("side", np.nan),
        "level": ("level", np.nan),
        "confirmed": ("confirmed", -1),
    }
    return records_frame(swings, index, columns)


def track(frame: pd.DataFrame, swing_length: int) -> list[Swing]:
    tracker = SwingTracker(swing_length)
    feed = candles(frame)
    found = []
    for position, candle in enumerate(feed):
        for swing in tracker.update(candle):
            assert swing.confirmed == position  # emitted exactly when it becomes known
            assert swing.time == feed[swing.index].open_time
            found.append(swing)
    return found


def reference_sides(high: np.ndarray, low: np.ndarray, n: int) -> np.ndarray:
    """The definition, spelled out slowly: extreme of bars i-n+1 .. i+n, ties allowed, an
    outside bar that is both takes the side opposite the previous swing."""
    sides = np.full(len(high), np.nan)
    previous = 0
    for i in range(n - 1, len(high) - n):
        window = slice(i - n + 1, i + n + 1)
        is_high, is_low = high[i] == high[window].max(), low[i] == low[window].min()
        if is_high and is_low:
            side = -previous if previous else 1
        else:
            side = 1 if is_high else -1 if is_low else 0
        if side:
            sides[i] = previous = side
    return sides


def frame_of(highs: list[float], lows: list[float]) -> pd.DataFrame:
    mids = [(h + low) / 2 for h, low in zip(highs, lows, strict=True)]
    frame = frame_from_ticks([(0, 0, 0, 0)] * len(highs))
    frame[["open", "high", "low", "close"]] = np.array([mids, highs, lows, mids]).T
    return frame


def test_pivots_ties_and_outside_bars_on_a_worked_example() -> None:
    # swing_length 2: bar i is judged on bars i-1 .. i+2, so it is confirmed at i+2.
    frame = frame_of(
        highs=[10, 12, 11, 12, 9, 8, 15, 9, 9],
        lows=[9, 10, 8, 10, 7, 7, 6, 8, 8],
    )
    result = swing_highs_lows(frame, 2)
    swings = result.dropna(subset=["swing"])
    # Bars 1 and 3 tie at 12 and both are highs; bar 6 is both the highest high and the lowest
    # low of bars 5..8, and after a high it is a low.
    assert swings.index.tolist() == frame.index[[1, 3, 6]].tolist()
    assert swings["swing"].tolist() == [1.0, 1.0, -1.0]
    assert swings["level"].tolist() == [12.0, 12.0, 6.0]
    assert swings["confirmed"].tolist() == [3, 5, 8]
    assert (result["confirmed"].drop(swings.index) == -1).all()
    assert result["level"].drop(swings.index).isna().all()


def test_an_outside_bar_after_a_low_or_first_is_a_high() -> None:
    first = swing_highs_lows(frame_of([5, 9, 5, 5], [4, 1, 4, 4]), 2)
    assert first["swing"].tolist()[1] == 1.0
    after_low = swing_highs_lows(frame_of([6, 5, 5, 5, 9, 5, 5], [3, 2, 3, 3, 1, 3, 3]), 2)
    assert after_low["swing"].dropna().tolist() == [-1.0, 1.0]


@settings(max_examples=150, deadline=None)
@given(ohlc_frames(max_size=120), st.integers(1, 6))
def test_batch_matches_the_definition(frame: pd.DataFrame, swing_length: int) -> None:
    result = swing_highs_lows(frame, swing_length)
    high, low = frame["high"].to_numpy(), frame["low"].to_numpy()
    expected = reference_sides(high, low, swing_length)
    np.testing.assert_array_equal(result["swing"].to_numpy(), expected)
    marked = ~np.isnan(expected)
    positions = np.flatnonzero(marked)
    np.testing.assert_array_equal(result["confirmed"].to_numpy()[marked], positions + swing_length)
    levels = np.where(expected == 1, high, np.where(expected == -1, low, np.nan))
    np.testing.assert_array_equal(result["level"].to_numpy(), levels)


@settings(max_examples=40, deadline=None)
@given(ohlc_frames(max_size=80), st.integers(1, 5))
def test_each_prefix_knows_exactly_the_swings_confirmed_in_it(
    frame: pd.DataFrame, swing_length: int
) -> None:
    assert_causal(
        lambda f: swing_highs_lows(f, swing_length),
        frame,
        known="confirmed",
    )


def test_prefixes_of_a_real_file_know_only_confirmed_swings(eurusd_15m: pd.DataFrame) -> None:
    frame = eurusd_15m.iloc[:3000]
    assert_causal(
        lambda f: swing_highs_lows(f, 10), frame, ends=list(range(0, 3000, 97)), known="confirmed"
    )


@settings(max_examples=100, deadline=None)
@given(ohlc_frames(max_size=120), st.integers(1, 6))
def test_incremental_equals_batch(frame: pd.DataFrame, swing_length: int) -> None:
    pd.testing.assert_frame_equal(
        swings_frame(track(frame, swing_length), frame.index),
        swing_highs_lows(frame, swing_length),
    )


@pytest.mark.parametrize("swing_length", [5, 50])
def test_incremental_equals_batch_on_real_files(
    real_frame: pd.DataFrame, swing_length: int
) -> None:
    batch = swing_highs_lows(real_frame, swing_length)
    assert batch["swing"].notna().sum() > len(real_frame) / (20 * swing_length)
    pd.testing.assert_frame_equal(
        swings_frame(track(real_frame, swing_length), real_frame.index), batch
    )


def test_tracker_remembers_the_latest_swing() -> None:
    frame = frame_of([10, 12, 11, 12, 9, 8, 15, 9, 9], [9, 10, 8, 10, 7, 7, 6, 8, 8])
    tracker = SwingTracker(2)
    for candle in candles(frame):
        tracker.update(candle)
    assert tracker.last == Swing(-1, 6, 6.0, frame.index[6].value // 1_000_000, 8)


def test_bad_input_is_refused_with_a_reason() -> None:
    frame = frame_from_ticks([(0, 1, 1, 1)] * 5)
    with pytest.raises(ValueError, match="swing_length must be a whole number of at least 1"):
        swing_highs_lows(frame, 0)
    with pytest.raises(KeyError, match="no column 'low'"):
        swing_highs_lows(frame.drop(columns="low"), 3)
    with pytest.raises(ValueError, match="still forming"):
        SwingTracker(3).update(candles(frame)[0]._replace(closed=False))


def test_a_frame_shorter_than_the_window_has_no_swings() -> None:
    result = swing_highs_lows(frame_from_ticks([(0, 1, 1, 1)] * 5), 3)
    assert result["swing"].isna().all()
    assert (result["confirmed"] == -1).all()
