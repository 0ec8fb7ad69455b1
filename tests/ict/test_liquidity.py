"""Equal highs and lows, liquidity levels and their sweeps: worked examples, causality, and
incremental == batch."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.ict.conftest import candles, frame_from_ticks
from tests.ict.test_sessions import timed_frames
from trading_bot.strategies.ict.indicators.liquidity import (
    EqualLevels,
    EqualLevelsTracker,
    Level,
    LiquidityTracker,
    Sweep,
    equal_highs_lows,
    liquidity_levels,
    sweeps,
)
from trading_bot.strategies.ict.indicators.sessions import PreviousLevelsTracker, previous_levels
from trading_bot.strategies.ict.indicators.structure import AtrTracker, atr
from trading_bot.strategies.ict.indicators.swings import SwingTracker, swing_highs_lows

# swing_length 2: bar i is a swing high when its high tops bars i-1, i+1 and i+2.
# Pivots at 1 (12.0), 5 (12.05) and 9 (12.02), confirmed at 3, 7 and 11; bar 13 runs above all.
HIGHS = [10, 12.0, 11, 10, 11, 12.05, 11, 10, 11.5, 12.02, 10, 9, 9.5, 12.1, 9]
LOWS = [5 - 0.1 * i for i in range(len(HIGHS))]  # falling: no swing lows
MIRROR = 30.0


def frame_of(
    highs: list[float], lows: list[float], closes: list[float] | None = None
) -> pd.DataFrame:
    mids = [(h + low) / 2 for h, low in zip(highs, lows, strict=True)]
    frame = frame_from_ticks([(0, 0, 0, 0)] * len(highs))
    frame[["open", "high", "low", "close"]] = np.array([mids, highs, lows, closes or mids]).T
    return frame


def mirrored(frame: pd.DataFrame) -> pd.DataFrame:
    """Prices reflected: highs become lows, so equal highs become equal lows."""
    flipped = MIRROR - frame[["open", "low", "high", "close"]]
    flipped.columns = pd.Index(["open", "high", "low", "close"])
    return flipped.assign(volume=frame["volume"])


def constant_atr(frame: pd.DataFrame, value: float = 1.0) -> pd.Series:
    return pd.Series(value, index=frame.index)


def equal_rows(frame: pd.DataFrame, atr_values: pd.Series, tolerance: float) -> pd.DataFrame:
    result = equal_highs_lows(frame, swing_highs_lows(frame, 2), atr_values, tolerance)
    return result[result["count"] > 0]


def sweep_rows(result: pd.DataFrame) -> list[tuple[int, int, str, float, int]]:
    return list(result.itertuples(index=False, name=None))


@pytest.mark.parametrize("mirror", [False, True])
def test_equal_highs_group_and_grow_and_their_sweep(mirror: bool) -> None:
    frame = mirrored(frame_of(HIGHS, LOWS)) if mirror else frame_of(HIGHS, LOWS)
    side = -1 if mirror else 1

    def price(level: float) -> float:
        return MIRROR - level if mirror else level

    equal = equal_rows(frame, constant_atr(frame), 0.1)
    # 12.05 is within 0.1 of 12.0 with nothing above 12.05 between: a pair, known at bar 7;
    # 12.02 joins it at bar 11. The group's level is its extreme, 12.05.
    assert equal.index.tolist() == frame.index[[7, 11]].tolist()
    assert equal["equal"].tolist() == [side, side]
    assert equal["level"].tolist() == [price(12.05)] * 2
    assert equal["count"].tolist() == [2, 3]
    assert equal["first"].tolist() == [1, 1]
    assert equal["last"].tolist() == [5, 9]

    swings = swing_highs_lows(frame, 2)
    levels = liquidity_levels(swings, equal_highs_lows(frame, swings, constant_atr(frame)))
    kind = "high" if side == 1 else "low"
    # Bar 5 runs the 12.0 high on its way to 12.05 and closes back below: a sweep. Bar 13
    # runs all that is left, nearest first.
    assert sweep_rows(sweeps(frame, levels)) == [
        (5, side, f"swing_{kind}", price(12.0), 3),
        (13, side, f"swing_{kind}", price(12.02), 11),
        (13, side, f"equal_{kind}s", price(12.05), 7),
        (13, side, f"swing_{kind}", price(12.05), 7),
    ]


def test_the_tolerance_is_the_atr_at_the_confirming_bar() -> None:
    frame = frame_of(HIGHS, LOWS)
    atr_values = constant_atr(frame)
    atr_values.iloc[7] = 0.4  # 12.0 and 12.05 are 0.05 apart, more than 0.1 x 0.4
    equal = equal_rows(frame, atr_values, 0.1)
    # 12.0 can pair no more (12.05 rose above it); 12.02 pairs with 12.05 at bar 11.
    assert equal[["equal", "level", "count", "first", "last"]].values.tolist() == [
        [1.0, 12.05, 2, 5, 9]
    ]
    assert equal.index.tolist() == [frame.index[11]]
    assert equal_rows(frame, constant_atr(frame, np.nan), 0.1).empty  # ATR warm-up


def test_a_higher_peak_between_two_highs_makes_them_unequal() -> None:
    highs = [10, 12.0, 11, 10, 13, 11, 10, 11.5, 12.01, 10, 9]
    frame = frame_of(highs, LOWS[: len(highs)])
    assert (
        swing_highs_lows(frame, 2)["swing"].dropna().index.tolist()
        == frame.index[[1, 4, 8]].tolist()
    )
    assert equal_rows(frame, constant_atr(frame), 0.1).empty


def test_a_close_beyond_consumes_the_level_without_a_sweep() -> None:
    frame = frame_of(
        highs=[10, 11, 12.6, 12.7, 12],
        lows=[9, 9, 9, 7.9, 9],
        closes=[9.5, 10, 12.4, 7.95, 10],
    )
    previous = pd.DataFrame(
        {
            "prev_day_high": [np.nan, np.nan, 12.5, 12.5, 12.5],
            "prev_day_low": [np.nan, np.nan, 8, 8, 8],
        },
        index=frame.index,
    )
    levels = liquidity_levels(previous=previous)
    assert levels.values.tolist() == [[1, "prev_day_high", 12.5, 2], [-1, "prev_day_low", 8.0, 2]]
    # Bar 2 opens the day that knows yesterday's high, runs it and closes under it: a sweep.
    # Bar 3 closes below yesterday's low: a break, no sweep, and the level is gone.
    assert sweep_rows(sweeps(frame, levels)) == [(2, 1, "prev_day_high", 12.5, 2)]
    tracker = LiquidityTracker()
    found = []
    for candle, (_, row) in zip(candles(frame), previous.iterrows(), strict=True):
        found += tracker.update(candle, previous=row.to_dict())
        if candle.open_time == frame.index[2].value // 1_000_000:
            assert tracker.untaken(1) == []
            assert tracker.untaken(-1) == [Level(-1, "prev_day_low", 8.0, 2)]
    assert found == [Sweep(2, Level(1, "prev_day_high", 12.5, 2))]
    assert tracker.untaken(-1) == []


def test_untaken_levels_are_listed_nearest_first() -> None:
    frame = frame_of(HIGHS[:13], LOWS[:13])
    tracker, swing_tracker = LiquidityTracker(), SwingTracker(2)
    for candle in candles(frame):
        tracker.update(candle, swing_tracker.update(candle))
    assert tracker.untaken(1) == [
        Level(1, "swing_high", 12.02, 11),
        Level(1, "swing_high", 12.05, 7),
    ]


def test_trackers_refuse_levels_of_another_bar() -> None:
    frame = frame_of(HIGHS, LOWS)
    feed = candles(frame)
    group = EqualLevels(1, 12.0, 2, 0, 1, known=5)
    with pytest.raises(ValueError, match="known at bar 5 was given with bar 0"):
        LiquidityTracker().update(feed[0], equal=[group])
    with pytest.raises(ValueError, match="should end in _high or _low"):
        LiquidityTracker().update(feed[0], previous={"pdh": 12.0})
    with pytest.raises(ValueError, match="tolerance_atr must be a number above 0"):
        EqualLevelsTracker(0)


# --- batch and incremental forms of the whole liquidity pipeline ---

SWING_LENGTH, ATR_PERIOD = 2, 3


def batch(frame: pd.DataFrame, tolerance: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    swings = swing_highs_lows(frame, SWING_LENGTH)
    equal = equal_highs_lows(frame, swings, atr(frame, ATR_PERIOD), tolerance)
    levels = liquidity_levels(swings, equal, previous_levels(frame))
    return equal, sweeps(frame, levels)


def incremental(
    frame: pd.DataFrame, tolerance: float, check_untaken: bool = True
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The batch frames rebuilt from what the trackers said, candle by candle; and, if asked,
    a check at every candle that each untaken level lies beyond every price since it became
    known."""
    swing_tracker, atr_tracker = SwingTracker(SWING_LENGTH), AtrTracker(ATR_PERIOD)
    equal_tracker, previous_tracker = EqualLevelsTracker(tolerance), PreviousLevelsTracker()
    liquidity = LiquidityTracker()
    n = len(frame)
    equal = pd.DataFrame(
        {"equal": np.nan, "level": np.nan, "count": np.zeros(n, dtype=np.int64)}, index=frame.index
    )
    equal["first"] = equal["last"] = np.full(n, -1, dtype=np.int64)
    found: list[Sweep] = []
    high, low = frame["high"].to_numpy(), frame["low"].to_numpy()
    for position, candle in enumerate(candles(frame)):
        swings = swing_tracker.update(candle)
        groups = equal_tracker.update(candle, swings, atr_tracker.update(candle))
        for group in groups:
            assert group.known == position
            equal.iloc[position] = [group.side, group.level, group.count, group.first, group.last]
        found += liquidity.update(candle, swings, groups, previous_tracker.update(candle))
        for side in (1, -1) if check_untaken else ():
            outward = high if side == 1 else -low
            for level in liquidity.untaken(side):
                assert outward[level.known : position + 1].max() <= side * level.price
    rows = [(s.bar, s.level.side, s.level.kind, s.level.price, s.level.known) for s in found]
    bars = np.array([row[0] for row in rows], dtype=np.int64)
    result = pd.DataFrame(
        rows, columns=["bar", "side", "kind", "price", "known"], index=frame.index[bars]
    )
    return equal, result.astype(
        {"bar": np.int64, "side": np.int64, "kind": object, "price": float, "known": np.int64}
    )


TOLERANCES = st.sampled_from([0.1, 0.5, 2.0])


@settings(max_examples=80, deadline=None)
@given(timed_frames(), TOLERANCES)
def test_incremental_equals_batch(frame: pd.DataFrame, tolerance: float) -> None:
    for got, expected in zip(incremental(frame, tolerance), batch(frame, tolerance), strict=True):
        pd.testing.assert_frame_equal(got, expected)


def assert_prefixes_know_what_the_full_run_knew(
    frame: pd.DataFrame, tolerance: float, ends: list[int]
) -> None:
    equal, found = batch(frame, tolerance)
    for end in ends:
        prefix_equal, prefix_found = batch(frame.iloc[: end + 1], tolerance)
        pd.testing.assert_frame_equal(prefix_equal, equal.iloc[: end + 1])
        pd.testing.assert_frame_equal(prefix_found, found[found["bar"] <= end])


@settings(max_examples=40, deadline=None)
@given(timed_frames(max_size=60), TOLERANCES, st.data())
def test_each_prefix_knows_what_the_full_run_knew(
    frame: pd.DataFrame, tolerance: float, data: st.DataObject
) -> None:
    ends = data.draw(st.lists(st.integers(0, len(frame) - 1), max_size=8, unique=True))
    assert_prefixes_know_what_the_full_run_knew(frame, tolerance, ends)


def test_on_a_real_file(eurusd_15m: pd.DataFrame) -> None:
    frame = eurusd_15m.iloc[:4000]
    equal, found = batch(frame, 0.1)
    assert (equal["count"] == 2).sum() > 20 and len(found) > 100
    assert set(found["kind"]) >= {"swing_high", "equal_lows", "prev_day_high", "prev_asia_low"}
    tracked = incremental(frame, 0.1, check_untaken=False)
    for got, expected in zip(tracked, (equal, found), strict=True):
        pd.testing.assert_frame_equal(got, expected)
    assert_prefixes_know_what_the_full_run_knew(frame, 0.1, list(range(0, len(frame), 397)))
