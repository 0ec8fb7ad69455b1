"""Swing highs and lows (pivots), known only once the bars that confirm them have closed.

Definition (smartmoneyconcepts' `swing_length`, read from its source): with n = swing_length,
bar i is a swing high when its high is the highest of the 2n bars i-n+1 .. i+n (the n-1 bars
before it, itself, and the n bars after it), and a swing low likewise with lows. The pivot is
therefore known at the close of bar i+n, its `confirmed` position, and not a bar earlier.

Ties: the comparison is "highest, ties allowed", as in smartmoneyconcepts, so two equal highs
within one window are both swing highs: equal highs are resting liquidity, which the liquidity
indicators built on these swings look for.

A bar that is both the highest high and the lowest low of its window (an outside bar that
engulfs the whole window) is one swing only, since a bar carries one label: the side opposite
the previous swing, so that the sequence alternates where it can (a high if there is no
previous swing). That looks only backwards, so it never changes once known.

Unlike smartmoneyconcepts there is no other alternation: consecutive highs (or lows) both stay,
because removing the lesser one rewrites a label that was already known; and no swing is forced
onto the first or last bar.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numba import njit

from trading_bot.core.model import Candle
from trading_bot.strategies.ict.indicators._common import (
    BEARISH,
    BULLISH,
    FloatArray,
    IntArray,
    check_closed,
    check_count,
    price_arrays,
    side_column,
)


@dataclass(frozen=True, slots=True)
class Swing:
    """A confirmed pivot: `side` 1 for a high, -1 for a low, at bar position `index` (open time
    `time`, epoch ms), known from bar position `confirmed` = index + swing_length on."""

    side: int
    index: int
    level: float
    time: int
    confirmed: int


def swing_highs_lows(ohlc: pd.DataFrame, swing_length: int) -> pd.DataFrame:
    """Swings marked at their pivot bar: `swing` (1.0 high, -1.0 low, NaN none), `level` (the
    pivot's high or low) and `confirmed` (bar position at which it became known, -1 if none)."""
    n = check_count("swing_length", swing_length)
    high, low = price_arrays(ohlc, "high", "low")
    side, confirmed = _swings(high, low, n)
    level = np.where(side == BULLISH, high, np.where(side == BEARISH, low, np.nan))
    return pd.DataFrame(
        {
            "swing": side_column(side),
            "level": level,
            "confirmed": confirmed,
        },
        index=ohlc.index,
    )


class SwingTracker:
    """Incremental swings: feed closed candles in order; `update` returns the swings that the
    candle confirms (at most one), exactly those `swing_highs_lows` marks with that
    `confirmed` position. Positions count the candles fed, from 0, as the batch's rows do."""

    def __init__(self, swing_length: int) -> None:
        self.swing_length = check_count("swing_length", swing_length)
        window = 2 * self.swing_length
        self._highs: deque[float] = deque(maxlen=window)
        self._lows: deque[float] = deque(maxlen=window)
        self._times: deque[int] = deque(maxlen=window)
        self._bars = 0
        self.last: Swing | None = None  # the latest confirmed swing of either side

    def update(self, candle: Candle) -> list[Swing]:
        check_closed(candle)
        n, highs, lows = self.swing_length, self._highs, self._lows
        highs.append(candle.high)
        lows.append(candle.low)
        self._times.append(candle.open_time)
        position = self._bars
        self._bars += 1
        if len(highs) < 2 * n:
            return []
        # The window is bars position-2n+1 .. position; its pivot candidate sits n-1 into it.
        high, low = highs[n - 1], lows[n - 1]
        side = _side(high == max(highs), low == min(lows), self.last.side if self.last else 0)
        if side == 0:
            return []
        level = high if side == BULLISH else low
        self.last = Swing(side, position - n, level, self._times[n - 1], position)
        return [self.last]


def _side(is_high: bool, is_low: bool, previous: int) -> int:
    """One bar, one label: an outside bar that is both takes the side opposite the previous
    swing (a high after none)."""
    if is_high and is_low:
        return -previous if previous else BULLISH
    return BULLISH if is_high else BEARISH if is_low else 0


_side_compiled = njit(cache=True)(_side)  # the same rule inside the batch kernel


@njit(cache=True)
def _swings(high: FloatArray, low: FloatArray, n: int) -> tuple[IntArray, IntArray]:
    """Side (1, -1, 0) and confirmation position of every bar, in one pass with monotonic
    queues for the rolling extremes of the 2n-bar window."""
    size = high.size
    side = np.zeros(size, dtype=np.int64)
    confirmed = np.full(size, -1, dtype=np.int64)
    window = 2 * n
    maxq = np.empty(size, dtype=np.int64)  # positions of decreasing highs
    minq = np.empty(size, dtype=np.int64)  # positions of increasing lows
    max_head = max_tail = min_head = min_tail = 0
    previous = 0
    for t in range(size):
        while max_tail > max_head and high[maxq[max_tail - 1]] <= high[t]:
            max_tail -= 1
        maxq[max_tail] = t
        max_tail += 1
        while min_tail > min_head and low[minq[min_tail - 1]] >= low[t]:
            min_tail -= 1
        minq[min_tail] = t
        min_tail += 1
        if maxq[max_head] <= t - window:
            max_head += 1
        if minq[min_head] <= t - window:
            min_head += 1
        if t < window - 1:
            continue
        i = t - n  # the pivot candidate this bar confirms or not
        is_high = high[i] == high[maxq[max_head]]
        is_low = low[i] == low[minq[min_head]]
        s = _side_compiled(is_high, is_low, previous)
        if s != 0:
            side[i] = s
            confirmed[i] = t
            previous = s
    return side, confirmed
