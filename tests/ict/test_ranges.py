"""Dealing range, premium / discount and the OTE zone: a worked example, causality, and
incremental == batch."""

from __future__ import annotations

from dataclasses import astuple

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.ict.conftest import assert_causal, candles, ohlc_frames
from tests.ict.test_liquidity import frame_of
from trading_bot.core.model import Direction
from trading_bot.strategies.ict.indicators.ranges import (
    DealingRangeTracker,
    ote_bounds,
    premium_discount,
)
from trading_bot.strategies.ict.indicators.swings import SwingTracker, swing_highs_lows

COLUMNS = ["range_high", "range_low", "equilibrium", "zone", "leg", "ote_low", "ote_high"]


def test_ote_zone_is_measured_from_the_end_of_the_leg() -> None:
    assert ote_bounds(110.0, 100.0, Direction.LONG) == pytest.approx((102.1, 103.8))
    assert ote_bounds(110.0, 100.0, Direction.SHORT) == pytest.approx((106.2, 107.9))
    assert ote_bounds(110.0, 100.0, Direction.LONG, (0.5, 0.5)) == (105.0, 105.0)
    lower, upper = ote_bounds(np.array([110.0, 20.0]), np.array([100.0, 10.0]), Direction.SHORT)
    np.testing.assert_allclose(lower, [106.2, 16.2])
    np.testing.assert_allclose(upper, [107.9, 17.9])
    with pytest.raises(ValueError, match="for a LONG or a SHORT"):
        ote_bounds(110.0, 100.0, Direction.FLAT)
    with pytest.raises(ValueError, match="the nearer first"):
        ote_bounds(110.0, 100.0, Direction.LONG, (0.79, 0.62))


def test_the_range_follows_the_latest_confirmed_swings() -> None:
    # swing_length 2. Swing high 12 (bar 1, known at 3), low 6 (bar 4, known 6), high 11
    # (bar 6, known 8), low 7 (bar 9, known 11), then a rally leaves a swing low of 11.5
    # (bar 12, known 14) above the swing high of 11: no valid range.
    frame = frame_of(
        highs=[10, 12, 11, 10, 9, 10, 11, 10, 9, 9, 12, 13, 12.5, 14, 15, 16],
        lows=[9, 10, 9, 8, 6, 8, 9, 9, 8, 7, 11, 12, 11.5, 12.5, 13, 14],
    )
    result = premium_discount(frame, swing_highs_lows(frame, 2))
    nan = np.nan
    short_a = ote_bounds(12.0, 6.0, Direction.SHORT)
    long_b = ote_bounds(11.0, 6.0, Direction.LONG)
    short_c = ote_bounds(11.0, 7.0, Direction.SHORT)
    expected = pd.DataFrame(
        [[nan] * 7] * 6
        + [[12, 6, 9, 1, -1, *short_a]] * 2  # closes 10 and 9.5, above 9: premium
        + [[11, 6, 8.5, 0, 1, *long_b]]  # the close is the equilibrium
        + [[11, 6, 8.5, -1, 1, *long_b]]
        + [[11, 6, 8.5, 1, 1, *long_b]]
        + [[11, 7, 9, 1, -1, *short_c]] * 3
        + [[nan] * 7] * 2,
        columns=COLUMNS,
        index=frame.index,
        dtype=float,
    )
    pd.testing.assert_frame_equal(result, expected)


def track(frame: pd.DataFrame, swing_length: int) -> pd.DataFrame:
    swings, ranges = SwingTracker(swing_length), DealingRangeTracker()
    rows = []
    for candle in candles(frame):
        found = ranges.update(candle, swings.update(candle))
        rows.append(astuple(found) if found is not None else (np.nan,) * len(COLUMNS))
    return pd.DataFrame(rows, columns=COLUMNS, index=frame.index, dtype=float)


@settings(max_examples=100, deadline=None)
@given(ohlc_frames(max_size=120), st.integers(1, 5))
def test_incremental_equals_batch(frame: pd.DataFrame, swing_length: int) -> None:
    batch = premium_discount(frame, swing_highs_lows(frame, swing_length))
    pd.testing.assert_frame_equal(track(frame, swing_length), batch)


@settings(max_examples=40, deadline=None)
@given(ohlc_frames(max_size=60), st.integers(1, 4))
def test_each_prefix_knows_what_the_full_run_knew(frame: pd.DataFrame, swing_length: int) -> None:
    assert_causal(
        lambda f: premium_discount(f, swing_highs_lows(f, swing_length)),
        frame,
        ends=list(range(len(frame))),
    )


def test_on_a_real_file(eurusd_15m: pd.DataFrame) -> None:
    frame = eurusd_15m.iloc[:4000]
    batch = premium_discount(frame, swing_highs_lows(frame, 5))
    valid = batch.dropna()
    assert len(valid) > len(batch) / 2 and set(valid["zone"]) >= {-1.0, 1.0}
    # A long's OTE zone lies in the discount half of the range, a short's in the premium half.
    up = valid["leg"] == 1
    assert (valid["range_low"][up] < valid["ote_low"][up]).all()
    assert (valid["ote_high"][up] < valid["equilibrium"][up]).all()
    assert (valid["equilibrium"][~up] < valid["ote_low"][~up]).all()
    assert (valid["ote_high"][~up] < valid["range_high"][~up]).all()
    pd.testing.assert_frame_equal(track(frame, 5), batch)
    assert_causal(
        lambda f: premium_discount(f, swing_highs_lows(f, 5)), frame, ends=list(range(0, 4000, 197))
    )
