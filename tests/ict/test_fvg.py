"""Fair value gaps: the definition, mitigation, causality, and incremental == batch."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings

from tests.ict.conftest import (
    assert_causal,
    candles,
    frame_from_ticks,
    ohlc_frames,
    records_frame,
)
from trading_bot.strategies.ict.indicators.fvg import Fvg, FvgTracker, fvg

COLUMNS = {
    "fvg": ("side", np.nan),
    "top": ("top", np.nan),
    "bottom": ("bottom", np.nan),
    "mitigated": ("mitigated", -1),
}


def ohlc(rows: list[tuple[float, float, float, float]]) -> pd.DataFrame:
    frame = frame_from_ticks([(0, 0, 0, 0)] * len(rows))
    frame[["open", "high", "low", "close"]] = np.array(rows, dtype=np.float64)
    return frame


def gaps_frame(gaps: list[Fvg], index: pd.Index) -> pd.DataFrame:
    return records_frame(gaps, index, COLUMNS)


def track(frame: pd.DataFrame) -> tuple[list[Fvg], FvgTracker]:
    tracker = FvgTracker()
    emitted: list[Fvg] = []
    for position, candle in enumerate(candles(frame)):
        update = tracker.update(candle)
        if update.formed is not None:
            assert (update.formed.index, update.formed.time) == (position, candle.open_time)
            emitted.append(update.formed)
        assert all(gap.mitigated == position for gap in update.mitigated)
        emitted.extend(update.mitigated)
    return emitted, tracker


def reference(frame: pd.DataFrame) -> pd.DataFrame:
    """The definition as a slow loop."""
    o, h, lo, c = (frame[column].to_numpy() for column in ("open", "high", "low", "close"))
    rows = []
    for i in range(len(frame)):
        side, top, bottom, mitigated = np.nan, np.nan, np.nan, -1
        if i >= 2 and c[i - 1] > o[i - 1] and lo[i] > h[i - 2]:
            side, top, bottom = 1.0, lo[i], h[i - 2]
            later = [j for j in range(i + 1, len(frame)) if lo[j] <= top]
            mitigated = later[0] if later else -1
        elif i >= 2 and c[i - 1] < o[i - 1] and h[i] < lo[i - 2]:
            side, top, bottom = -1.0, lo[i - 2], h[i]
            later = [j for j in range(i + 1, len(frame)) if h[j] >= bottom]
            mitigated = later[0] if later else -1
        rows.append((side, top, bottom, mitigated))
    return pd.DataFrame(rows, columns=["fvg", "top", "bottom", "mitigated"], index=frame.index)


def test_gaps_are_marked_on_the_third_candle_and_mitigated_by_a_return() -> None:
    frame = ohlc(
        [
            (10, 11, 9, 10.5),  # 0
            (10.5, 14, 10.4, 13.8),  # 1: up candle
            (13.8, 15, 12, 14.5),  # 2: low 12 > high 11 of bar 0: bullish gap 11 .. 12
            (14.5, 16, 12.5, 13),  # 3: does not reach 12
            (13, 13.5, 11.9, 12.2),  # 4: low 11.9 <= 12: mitigated; down candle
            (12.2, 12.4, 8, 8.5),  # 5: high 12.4 < low 12.5 of bar 3, bar 4 down: bearish gap
        ]
    )
    result = fvg(frame)
    assert result["fvg"].tolist()[2] == 1.0
    assert (result["top"].iloc[2], result["bottom"].iloc[2], result["mitigated"].iloc[2]) == (
        12.0,
        11.0,
        4,
    )
    assert result["fvg"].tolist()[5] == -1.0
    assert (result["top"].iloc[5], result["bottom"].iloc[5], result["mitigated"].iloc[5]) == (
        12.5,
        12.4,
        -1,
    )
    assert result["fvg"].drop(result.index[[2, 5]]).isna().all()


def test_a_gap_needs_its_middle_candle_to_move_its_way() -> None:
    down_middle = ohlc([(10, 11, 9, 10.5), (14, 14, 12.5, 13), (13, 15, 12, 14.5)])
    assert fvg(down_middle)["fvg"].isna().all()


@settings(max_examples=150, deadline=None)
@given(ohlc_frames(max_size=120))
def test_batch_matches_the_definition(frame: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(fvg(frame), reference(frame))


@settings(max_examples=40, deadline=None)
@given(ohlc_frames(max_size=80))
def test_each_prefix_knows_gaps_and_mitigations_up_to_its_end(frame: pd.DataFrame) -> None:
    assert_causal(fvg, frame, events=("mitigated",))


def test_prefixes_of_a_real_file_know_only_the_past(btcusdt_1h: pd.DataFrame) -> None:
    assert_causal(fvg, btcusdt_1h.iloc[:3000], ends=list(range(0, 3000, 89)), events=("mitigated",))


@settings(max_examples=100, deadline=None)
@given(ohlc_frames(max_size=120))
def test_incremental_equals_batch(frame: pd.DataFrame) -> None:
    emitted, tracker = track(frame)
    batch = fvg(frame)
    pd.testing.assert_frame_equal(gaps_frame(emitted, frame.index), batch)
    still_open = batch.index[(batch["mitigated"] == -1) & batch["fvg"].notna()]
    assert [frame.index[gap.index] for gap in tracker.open_gaps] == still_open.tolist()


def test_incremental_equals_batch_on_real_files(real_frame: pd.DataFrame) -> None:
    emitted, tracker = track(real_frame)
    batch = fvg(real_frame)
    assert batch["fvg"].notna().sum() > len(real_frame) / 20
    pd.testing.assert_frame_equal(gaps_frame(emitted, real_frame.index), batch)
    assert len(tracker.open_gaps) == ((batch["mitigated"] == -1) & batch["fvg"].notna()).sum()
