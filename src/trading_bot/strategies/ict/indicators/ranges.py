"""The dealing range, its premium and discount halves, and the optimal trade entry (OTE) zone.

The dealing range at a bar runs from the latest swing low to the latest swing high confirmed
by then. Above its middle (the equilibrium) price is at a premium, below it at a discount:
buy in discount, sell in premium. When the latest swing low is at or above the latest swing
high (price ran past one before the next formed), there is no valid range until a new swing
sets one, and every column is NaN.

The leg is the direction of the move the range spans: up (1) when its high pivoted after its
low, down (-1) otherwise. The OTE zone is the 62%-79% retracement of that leg, where ICT looks
for entries with it: for an up leg (longs) measured down from the high, for a down leg
(shorts) up from the low.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
import numpy.typing as npt
import pandas as pd

from trading_bot.core.model import Candle, Direction
from trading_bot.strategies.ict.indicators._common import (
    BEARISH,
    BULLISH,
    NO_BAR,
    FloatArray,
    IntArray,
    check_closed,
    price_arrays,
)
from trading_bot.strategies.ict.indicators.swings import Swing

OTE_RETRACEMENTS = (0.62, 0.79)
BoolArray = npt.NDArray[np.bool_]
Price = TypeVar("Price", float, FloatArray)


def ote_bounds(
    high: Price,
    low: Price,
    direction: Direction,
    retracements: tuple[float, float] = OTE_RETRACEMENTS,
) -> tuple[Price, Price]:
    """(lower, upper) bounds of the OTE zone of the range `low`..`high` (numbers or arrays):
    for a LONG the `retracements` of the range measured down from the high, for a SHORT
    measured up from the low."""
    near, far = retracements
    if not 0 <= near <= far <= 1:
        raise ValueError(f"retracements must be fractions, the nearer first: got {retracements}")
    span = high - low
    if direction is Direction.LONG:
        return high - far * span, high - near * span
    if direction is Direction.SHORT:
        return low + near * span, low + far * span
    raise ValueError(f"an OTE zone is for a LONG or a SHORT, not {direction}")


@dataclass(frozen=True, slots=True)
class DealingRange:
    """The range at one bar: `zone` 1 premium, -1 discount, 0 at equilibrium (of the close);
    `leg` 1 up, -1 down; the OTE zone of that leg is `ote_low` .. `ote_high`."""

    high: float
    low: float
    equilibrium: float
    zone: int
    leg: int
    ote_low: float
    ote_high: float


def premium_discount(ohlc: pd.DataFrame, swings: pd.DataFrame) -> pd.DataFrame:
    """Per bar: `range_high`, `range_low`, `equilibrium`, `zone` (1.0 premium, -1.0 discount,
    0.0 at equilibrium), `leg` (1.0 up, -1.0 down), `ote_low`, `ote_high`; NaN without a
    valid range. `swings` is `swing_highs_lows(ohlc, ...)`."""
    (close,) = price_arrays(ohlc, "close")
    if len(swings) != len(close):
        raise ValueError(f"the swings frame has {len(swings)} rows for {len(close)} candles")
    swing = swings["swing"].to_numpy(dtype=np.float64)
    level = swings["level"].to_numpy(dtype=np.float64)
    confirmed = swings["confirmed"].to_numpy(dtype=np.int64)
    high_pivot = _latest_pivot(swing == BULLISH, confirmed)
    low_pivot = _latest_pivot(swing == BEARISH, confirmed)
    high = np.where(high_pivot != NO_BAR, level[high_pivot], np.nan)
    low = np.where(low_pivot != NO_BAR, level[low_pivot], np.nan)
    valid = high > low  # False where either is NaN
    high, low = np.where(valid, high, np.nan), np.where(valid, low, np.nan)
    equilibrium = _equilibrium(high, low)
    leg = np.where(valid, np.where(high_pivot > low_pivot, BULLISH, BEARISH), np.nan)
    long_low, long_high = ote_bounds(high, low, Direction.LONG)
    short_low, short_high = ote_bounds(high, low, Direction.SHORT)
    return pd.DataFrame(
        {
            "range_high": high,
            "range_low": low,
            "equilibrium": equilibrium,
            "zone": np.sign(close - equilibrium),
            "leg": leg,
            "ote_low": np.where(leg == BULLISH, long_low, short_low),
            "ote_high": np.where(leg == BULLISH, long_high, short_high),
        },
        index=ohlc.index,
    )


class DealingRangeTracker:
    """Incremental `premium_discount`: feed each closed candle with the swings it confirmed;
    `update` returns the range at that candle, or None where the batch form has NaN."""

    def __init__(self) -> None:
        self.high: Swing | None = None
        self.low: Swing | None = None

    def update(self, candle: Candle, swings: Iterable[Swing] = ()) -> DealingRange | None:
        check_closed(candle)
        for swing in swings:
            if swing.side == BULLISH:
                self.high = swing
            else:
                self.low = swing
        high, low = self.high, self.low
        if high is None or low is None or not high.level > low.level:
            return None
        equilibrium = _equilibrium(high.level, low.level)
        zone = (candle.close > equilibrium) - (candle.close < equilibrium)
        leg = BULLISH if high.index > low.index else BEARISH
        direction = Direction.LONG if leg == BULLISH else Direction.SHORT
        ote_low, ote_high = ote_bounds(high.level, low.level, direction)
        return DealingRange(high.level, low.level, equilibrium, zone, leg, ote_low, ote_high)


def _equilibrium(high: Price, low: Price) -> Price:
    return (high + low) / 2


def _latest_pivot(is_pivot: BoolArray, confirmed: IntArray) -> IntArray:
    """Per bar, the position of the latest of these pivots confirmed by then (NO_BAR: none).
    Pivots are confirmed in their own order, so the latest is the largest."""
    pivots = np.flatnonzero(is_pivot)
    at = np.full(len(is_pivot), NO_BAR, dtype=np.int64)
    at[confirmed[pivots]] = pivots
    return np.maximum.accumulate(at)
