"""Order blocks: the definition, mitigation and invalidation, causality, incremental == batch."""

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
from trading_bot.strategies.ict.indicators.fvg import fvg
from trading_bot.strategies.ict.indicators.order_blocks import (
    OrderBlock,
    OrderBlockTracker,
    order_blocks,
)
from trading_bot.strategies.ict.indicators.structure import displacement, market_structure

COLUMNS = {
    "ob": ("side", np.nan),
    "top": ("top", np.nan),
    "bottom": ("bottom", np.nan),
    "known": ("known", -1),
    "mitigated": ("mitigated", -1),
    "invalidated": ("invalidated", -1),
}
EVENTS = ("mitigated", "invalidated")


def ohlc(rows: list[tuple[float, float, float, float]]) -> pd.DataFrame:
    frame = frame_from_ticks([(0, 0, 0, 0)] * len(rows))
    frame[["open", "high", "low", "close"]] = np.array(rows, dtype=np.float64)
    return frame


WORKED = [
    (10, 11, 9, 10),
    (10, 13, 10, 12),  # 1: swing high 13, confirmed at 3 (swing_length 2)
    (12, 12.5, 11, 11),
    (11, 12, 10, 10.5),  # 3: the last down candle before the displacement: block 10 .. 12
    (10.5, 13.8, 10.4, 13.6),  # 4: body 3.1 >= ATR(2) 2 at bar 3, closes above 13: known
    (13.6, 14, 12.5, 13),
    (13, 13.2, 11.8, 12),  # 6: low 11.8 trades into the block: mitigated
    (12, 12.1, 9, 9.5),  # 7: closes below 10: invalidated; breaks the swing low 10 of bar 3
]


def track(
    frame: pd.DataFrame, swing_length: int, k: float, atr_period: int
) -> tuple[pd.DataFrame, OrderBlockTracker]:
    tracker = OrderBlockTracker(swing_length, k, atr_period)
    records: list[OrderBlock] = []
    for position, candle in enumerate(candles(frame)):
        update = tracker.update(candle)
        if update.formed is not None:
            assert update.formed.known == position
            records.append(update.formed)
        assert all(block.mitigated == position for block in update.mitigated)
        assert all(block.invalidated == position for block in update.invalidated)
        brk = update.structure_break
        assert brk is None or brk.index == position
        assert update.formed is None or (brk is not None and brk.side == update.formed.side)
        records += update.mitigated + update.invalidated
    return records_frame(records, frame.index, COLUMNS), tracker


def first_after(t: int, hits: np.ndarray) -> int:
    later = np.flatnonzero(hits[t + 1 :])
    return t + 1 + int(later[0]) if len(later) else -1


def reference_blocks(frame: pd.DataFrame, swing_length: int, k: float, period: int) -> pd.DataFrame:
    """The definition as a slow loop over the breaks."""
    o, h, lo, c = (frame[column].to_numpy() for column in ("open", "high", "low", "close"))
    structure = market_structure(frame, swing_length)
    moves = displacement(frame, k, period).fillna(0).to_numpy()
    colour = np.sign(c - o)
    result = pd.DataFrame({column: [blank] * len(frame) for column, (_, blank) in COLUMNS.items()})
    result.index = frame.index
    for t in np.flatnonzero(structure["broken_swing"].to_numpy() >= 0):
        s = int(np.fmax(structure["bos"].iloc[t], structure["choch"].iloc[t]))
        moved = [d for d in range(t + 1) if moves[d] == s]
        if not moved or moved[-1] <= structure["broken_swing"].iloc[t]:
            continue
        before = [b for b in range(moved[-1]) if colour[b] == -s]
        if not before or result["known"].iloc[before[-1]] != -1:
            continue
        b = before[-1]
        touched = lo <= h[b] if s == 1 else h >= lo[b]
        beyond = c < lo[b] if s == 1 else c > h[b]
        row = (s, h[b], lo[b], t, first_after(t, touched), first_after(t, beyond))
        result.iloc[b] = row
    return result.astype({"ob": float, "top": float, "bottom": float})


def test_the_last_opposite_candle_before_a_breaking_displacement_is_the_block() -> None:
    frame = ohlc(WORKED)
    result = order_blocks(frame, 2, 1.0, 2)
    blocks = result.dropna(subset=["ob"])
    # Bar 7 is also a bearish displacement breaking the swing low of bar 3: the last up candle
    # before it, bar 4, becomes a bearish block.
    assert blocks.index.tolist() == frame.index[[3, 4]].tolist()
    assert blocks.to_numpy().tolist() == [
        [1.0, 12.0, 10.0, 4, 6, 7],
        [-1.0, 13.8, 10.4, 7, -1, -1],
    ]


def test_a_break_without_displacement_makes_no_block() -> None:
    frame = ohlc(WORKED)
    assert market_structure(frame, 2)["bos"].notna().any()
    assert order_blocks(frame, 2, 10.0, 2)["ob"].isna().all()


@settings(max_examples=120, deadline=None)
@given(ohlc_frames(max_size=120), st.integers(1, 4), st.sampled_from([0.5, 1.0]))
def test_batch_matches_the_definition(frame: pd.DataFrame, swing_length: int, k: float) -> None:
    pd.testing.assert_frame_equal(
        order_blocks(frame, swing_length, k, 3), reference_blocks(frame, swing_length, k, 3)
    )


@settings(max_examples=30, deadline=None)
@given(ohlc_frames(max_size=80), st.integers(1, 3))
def test_each_prefix_knows_exactly_the_blocks_known_by_its_end(
    frame: pd.DataFrame, swing_length: int
) -> None:
    assert_causal(
        lambda f: order_blocks(f, swing_length, 0.5, 3),
        frame,
        known="known",
        events=EVENTS,
    )


def test_prefixes_of_a_real_file_know_only_the_past(btcusdt_1h: pd.DataFrame) -> None:
    assert_causal(
        lambda f: order_blocks(f, 5, 1.0, 14),
        btcusdt_1h.iloc[:3000],
        list(range(0, 3000, 97)),
        known="known",
        events=EVENTS,
    )


@settings(max_examples=100, deadline=None)
@given(ohlc_frames(max_size=120), st.integers(1, 4), st.sampled_from([0.5, 1.0]))
def test_incremental_equals_batch(frame: pd.DataFrame, swing_length: int, k: float) -> None:
    rebuilt, tracker = track(frame, swing_length, k, 3)
    batch = order_blocks(frame, swing_length, k, 3)
    pd.testing.assert_frame_equal(rebuilt, batch)
    alive = batch.index[batch["ob"].notna() & (batch["invalidated"] == -1)]
    assert [frame.index[block.index] for block in tracker.blocks] == alive.tolist()


@pytest.mark.parametrize(("swing_length", "k"), [(5, 1.0), (10, 1.5)])
def test_incremental_equals_batch_on_real_files(
    real_frame: pd.DataFrame, swing_length: int, k: float
) -> None:
    rebuilt, _ = track(real_frame, swing_length, k, 14)
    batch = order_blocks(real_frame, swing_length, k, 14)
    assert batch["ob"].notna().sum() > len(real_frame) / 500
    pd.testing.assert_frame_equal(rebuilt, batch)


@pytest.mark.parametrize("size", [0, 1, 2])
def test_frames_too_short_for_anything_give_empty_results(size: int) -> None:
    frame = frame_from_ticks([(0, 3, 1, 1)] * size)
    for result, column in (
        (order_blocks(frame, 2, 0.5, 3), "ob"),
        (fvg(frame), "fvg"),
        (market_structure(frame, 2), "bos"),
    ):
        assert result.index.equals(frame.index)
        assert result[column].isna().all()
