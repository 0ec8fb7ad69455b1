"""ATR, displacement and market structure (BOS / CHoCH): definitions, causality, incremental ==
batch."""

from __future__ import annotations

import math

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
from trading_bot.strategies.ict.indicators.structure import (
    AtrTracker,
    DisplacementTracker,
    StructureBreak,
    StructureTracker,
    atr,
    displacement,
    market_structure,
)
from trading_bot.strategies.ict.indicators.swings import swing_highs_lows


def ohlc(rows: list[tuple[float, float, float, float]]) -> pd.DataFrame:
    frame = frame_from_ticks([(0, 0, 0, 0)] * len(rows))
    frame[["open", "high", "low", "close"]] = np.array(rows, dtype=np.float64)
    return frame


# --- ATR and displacement -------------------------------------------------------------------


def test_atr_is_wilders_seeded_with_the_mean_of_the_first_true_ranges() -> None:
    frame = ohlc([(10, 12, 9, 11), (11, 11.5, 10, 10.5), (13, 15, 13, 14), (14, 14, 12, 13)])
    # True ranges: 3; 1.5; 15 - 10.5 = 4.5 (gap from the previous close); 2.
    result = atr(frame, 2).tolist()
    assert math.isnan(result[0])
    assert result[1:] == [2.25, (2.25 + 4.5) / 2, ((2.25 + 4.5) / 2 + 2) / 2]


@settings(max_examples=40, deadline=None)
@given(ohlc_frames(min_size=2, max_size=120), st.integers(1, 10))
def test_atr_agrees_with_an_exponential_average_of_true_ranges(
    frame: pd.DataFrame, period: int
) -> None:
    previous_close = frame["close"].shift(1)
    tr = pd.concat(
        [
            frame["high"] - frame["low"],
            (frame["high"] - previous_close).abs(),
            (frame["low"] - previous_close).abs(),
        ],
        axis=1,
    ).max(axis=1)
    seeded = tr.copy()
    seeded.iloc[: period - 1] = np.nan
    seeded.iloc[period - 1 : period] = tr.iloc[:period].mean()
    expected = seeded.ewm(alpha=1 / period, adjust=False, ignore_na=True).mean()
    np.testing.assert_allclose(atr(frame, period).to_numpy(), expected.to_numpy(), rtol=1e-9)


def test_a_displacement_is_a_body_of_k_times_the_atr_of_the_bar_before() -> None:
    frame = ohlc(
        [(10, 11, 9, 10.5), (10.5, 11, 10, 10.5), (10.5, 14, 10.5, 13.9), (13.9, 14, 10, 10.1)]
    )
    # ATR(2) at bar 1: mean of the true ranges 2 and 1 = 1.5; at bar 2: (1.5 + 3.5) / 2 = 2.5.
    sides = displacement(frame, 2.0, 2).tolist()
    assert math.isnan(sides[1])  # no ATR before bar 1
    assert sides[2] == 1.0  # body 3.4 >= 2 x 1.5
    assert math.isnan(sides[3])  # body 3.8 < 2 x 2.5


@settings(max_examples=40, deadline=None)
@given(ohlc_frames(max_size=100), st.integers(1, 6), st.sampled_from([0.5, 1.0, 2.0]))
def test_atr_and_displacement_prefixes_and_incremental_agree_with_the_batch(
    frame: pd.DataFrame, period: int, k: float
) -> None:
    def both(f: pd.DataFrame) -> pd.DataFrame:
        return pd.concat([atr(f, period), displacement(f, k, period)], axis=1)

    assert_causal(both, frame)
    atr_tracker, moves = AtrTracker(period), DisplacementTracker(k, period)
    feed = candles(frame)
    incremental = pd.DataFrame(
        {
            "atr": [atr_tracker.update(c) for c in feed],
            "displacement": [moves.update(c) or np.nan for c in feed],
        },
        index=frame.index,
    )
    pd.testing.assert_frame_equal(incremental, both(frame))


def test_atr_and_displacement_incremental_equal_batch_on_real_files(
    real_frame: pd.DataFrame,
) -> None:
    atr_tracker, moves = AtrTracker(14), DisplacementTracker(1.5, 14)
    feed = candles(real_frame)
    values = np.array([atr_tracker.update(c) for c in feed])
    sides = np.array([moves.update(c) for c in feed], dtype=np.float64)
    np.testing.assert_array_equal(values, atr(real_frame, 14).to_numpy())  # bit for bit
    np.testing.assert_array_equal(sides, displacement(real_frame, 1.5, 14).fillna(0).to_numpy())
    assert (sides != 0).sum() > len(real_frame) / 100


# --- market structure -----------------------------------------------------------------------

COLUMNS = {
    "bos": ("bos", np.nan),
    "choch": ("choch", np.nan),
    "level": ("level", np.nan),
    "broken_swing": ("broken_swing", -1),
}


class _Row:
    """A break as one row of the batch frame."""

    def __init__(self, brk: StructureBreak) -> None:
        self.index = brk.index
        self.bos = np.nan if brk.choch else float(brk.side)
        self.choch = float(brk.side) if brk.choch else np.nan
        self.level = brk.level
        self.broken_swing = brk.swing.index


def track(frame: pd.DataFrame, swing_length: int) -> pd.DataFrame:
    tracker = StructureTracker(swing_length)
    rows = []
    for position, candle in enumerate(candles(frame)):
        brk = tracker.update(candle)
        if brk is not None:
            assert (brk.index, brk.time) == (position, candle.open_time)
            assert brk.swing.confirmed < position
            assert tracker.trend == brk.side
            rows.append(_Row(brk))
    return records_frame(rows, frame.index, COLUMNS)


def reference_structure(frame: pd.DataFrame, swing_length: int) -> pd.DataFrame:
    """The definition, declaratively: at bar t, the latest swing of each side confirmed before
    t is broken when t closes beyond it and no close since its confirmation did."""
    swings = swing_highs_lows(frame, swing_length)
    close = frame["close"].to_numpy()
    side, level, confirmed = (swings[c].to_numpy() for c in ("swing", "level", "confirmed"))
    result = pd.DataFrame(
        {"bos": np.nan, "choch": np.nan, "level": np.nan, "broken_swing": -1}, index=frame.index
    )
    trend = 0
    for t in range(len(frame)):
        for s in (1, -1):
            known = np.flatnonzero((side == s) & (confirmed < t) & (confirmed >= 0))
            if not len(known):
                continue
            i = known[-1]

            def beyond(price: float, s: int = s, i: int = i) -> bool:
                return price > level[i] if s == 1 else price < level[i]

            if beyond(close[t]) and not any(beyond(c) for c in close[confirmed[i] + 1 : t]):
                assert math.isnan(result.iat[t, 0]) and math.isnan(result.iat[t, 1])
                result.iloc[t] = (
                    (np.nan, s, level[i], i) if trend == -s else (s, np.nan, level[i], i)
                )
                trend = s
    return result


def test_a_break_with_the_trend_is_a_bos_and_against_it_a_choch() -> None:
    frame = ohlc(
        [
            (10, 11, 9, 10),
            (10, 13, 10, 12),  # 1: swing high 13, confirmed at 3 (swing_length 2)
            (12, 12.5, 11, 11),
            (11, 12, 8, 9),
            (9, 10, 7.5, 9.5),  # 4: swing low 7.5, confirmed at 6
            (9.5, 11, 9, 10.5),
            (10.5, 14, 10, 13.5),  # 6: closes above 13: the first break, a bullish BOS
            (13.5, 14.5, 12, 12.5),  # 7: swing high 14.5, confirmed at 9
            (12.5, 13, 9, 9.5),
            (9.5, 10, 7, 7.2),  # 9: closes below 7.5 in an up trend: a bearish CHoCH
        ]
    )
    result = market_structure(frame, 2)
    breaks = result.dropna(how="all", subset=["bos", "choch"])
    assert breaks.index.tolist() == frame.index[[6, 9]].tolist()
    assert breaks["bos"].tolist()[0] == 1.0 and math.isnan(breaks["choch"].iloc[0])
    assert breaks["choch"].tolist()[1] == -1.0 and math.isnan(breaks["bos"].iloc[1])
    assert breaks["level"].tolist() == [13.0, 7.5]
    assert breaks["broken_swing"].tolist() == [1, 4]


def test_a_swing_breaks_once_and_only_the_latest_one_counts() -> None:
    frame = ohlc(
        [
            (10, 11, 9, 10),
            (10, 13, 10, 12),  # 1: swing high 13
            (12, 12.5, 11, 11),
            (11, 12, 10, 11),
            (11, 12.2, 10, 11),  # 4: swing high 12.2, confirmed at 6: the latest
            (11, 11.5, 10.5, 11),
            (11, 11.5, 10.5, 11),
            (11, 12.6, 11, 12.5),  # 7: closes above 12.2 (not 13): breaks swing 4
            (12.5, 12.9, 12, 12.8),  # 8: above 12.2 again: already broken, nothing
        ]
    )
    result = market_structure(frame, 2)
    assert result["bos"].tolist()[7] == 1.0
    assert result["broken_swing"].tolist()[7] == 4
    assert result["bos"].drop(frame.index[7]).isna().all()


@settings(max_examples=120, deadline=None)
@given(ohlc_frames(max_size=120), st.integers(1, 5))
def test_batch_matches_the_definition(frame: pd.DataFrame, swing_length: int) -> None:
    pd.testing.assert_frame_equal(
        market_structure(frame, swing_length), reference_structure(frame, swing_length)
    )


@settings(max_examples=40, deadline=None)
@given(ohlc_frames(max_size=80), st.integers(1, 4))
def test_each_prefix_knows_exactly_the_breaks_up_to_its_end(
    frame: pd.DataFrame, swing_length: int
) -> None:
    assert_causal(lambda f: market_structure(f, swing_length), frame)


def test_prefixes_of_a_real_file_know_only_the_past(eurusd_15m: pd.DataFrame) -> None:
    assert_causal(
        lambda f: market_structure(f, 5), eurusd_15m.iloc[:3000], list(range(0, 3000, 101))
    )


@settings(max_examples=100, deadline=None)
@given(ohlc_frames(max_size=120), st.integers(1, 5))
def test_incremental_equals_batch(frame: pd.DataFrame, swing_length: int) -> None:
    pd.testing.assert_frame_equal(track(frame, swing_length), market_structure(frame, swing_length))


@pytest.mark.parametrize("swing_length", [5, 20])
def test_incremental_equals_batch_on_real_files(
    real_frame: pd.DataFrame, swing_length: int
) -> None:
    batch = market_structure(real_frame, swing_length)
    assert batch["choch"].notna().sum() > len(real_frame) / (200 * swing_length)
    pd.testing.assert_frame_equal(track(real_frame, swing_length), batch)


def test_bad_parameters_are_refused_with_a_reason() -> None:
    frame = ohlc([(10, 11, 9, 10)] * 3)
    with pytest.raises(ValueError, match="period must be a whole number"):
        atr(frame, 0)
    with pytest.raises(ValueError, match="k must be a number above 0"):
        displacement(frame, -1.0, 14)
    with pytest.raises(ValueError, match="swing_length"):
        StructureTracker(0)
