"""Plumbing the ICT indicators share: input checks, and the "first later bar to reach a level"
search in its two forms, a numba kernel for the batch form and a sorted watch list for the
incremental form, so that gaps and order blocks are mitigated by one rule in both.

Kernels are compiled with `cache=True`: once per machine into the git-ignored __pycache__ next
to the source (numba falls back to its user cache directory where that is read-only), so a
process starts in a fraction of a second instead of recompiling for several."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterator
from typing import Generic, TypeVar

import numpy as np
import numpy.typing as npt
import pandas as pd
from numba import njit

from trading_bot.core.model import Candle

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
T = TypeVar("T")

NO_BAR = -1  # an integer bar position that is not there (not confirmed, not mitigated yet)
BULLISH = 1
BEARISH = -1


def price_arrays(ohlc: pd.DataFrame, *columns: str) -> tuple[FloatArray, ...]:
    """The named columns as float64 arrays; a missing column is named in the error."""
    missing = [column for column in columns if column not in ohlc.columns]
    if missing:
        found = ", ".join(map(str, ohlc.columns)) or "none"
        raise KeyError(
            f"the candle frame has no column {', '.join(map(repr, missing))} (found: {found}); "
            "ICT indicators need lower-case open, high, low and close columns"
        )
    return tuple(ohlc[column].to_numpy(dtype=np.float64) for column in columns)


def side_column(sides: IntArray) -> FloatArray:
    """Sides as the frames show them: 1.0, -1.0, and NaN where there is nothing (0)."""
    return np.where(sides == 0, np.nan, sides.astype(np.float64))


def check_count(name: str, value: int, minimum: int = 1) -> int:
    """A whole-number parameter such as a swing length or an ATR period, checked once."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise ValueError(f"{name} must be a whole number of at least {minimum}, got {value!r}")
    return int(value)


def check_positive(name: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise ValueError(f"{name} must be a number above 0, got {value!r}")
    return float(value)


def check_closed(candle: Candle) -> None:
    """Incremental indicators take closed candles only: a forming one would be counted twice."""
    if not candle.closed:
        raise ValueError(
            f"{candle.symbol} candle at {candle.open_time} is still forming; "
            "update indicators with closed candles only"
        )


def first_reached(
    side: IntArray,
    level: FloatArray,
    start: IntArray,
    low: FloatArray,
    high: FloatArray,
    strict: bool,
) -> IntArray:
    """For each item, the first bar at or after `start` whose `low` reaches down to `level`
    (bullish items, side 1) or whose `high` reaches up to it (bearish, side -1); `strict`
    asks for beyond the level rather than at it. NO_BAR where no bar does. Pass the close as
    both `low` and `high` to ask about closes."""
    out = np.full(len(side), NO_BAR, dtype=np.int64)
    for sign, prices in ((BULLISH, low), (BEARISH, -high)):
        rows = np.flatnonzero(side == sign)
        if len(rows):
            # A bearish item waits for high >= level, which is -high <= -level.
            thresholds = level[rows] if sign == BULLISH else -level[rows]
            out[rows] = _first_at_or_below(prices, start[rows], thresholds, strict)
    return out


@njit(cache=True)
def _first_at_or_below(
    values: FloatArray, starts: IntArray, thresholds: FloatArray, strict: bool
) -> IntArray:
    """First j >= starts[q] with values[j] <= thresholds[q] (< if strict), or -1, for every
    query q, in O((n + queries) log n): a backward sweep keeps the stack of running minima
    seen from the current bar, and each query binary-searches it. (A forward scan per query
    is quadratic when gaps stay open for the rest of the data, as they do in a trend.)"""
    n = values.size
    out = np.full(starts.size, -1, dtype=np.int64)
    order = np.argsort(starts)
    k = starts.size - 1
    while k >= 0 and starts[order[k]] >= n:
        k -= 1
    # stack[0] is the latest bar with the lowest value; values rise strictly towards the top.
    stack = np.empty(n, dtype=np.int64)
    size = 0
    for p in range(n - 1, -1, -1):
        v = values[p]
        while size > 0 and values[stack[size - 1]] >= v:
            size -= 1  # a later bar no lower than this one can never be the first to reach
        stack[size] = p
        size += 1
        while k >= 0 and starts[order[k]] == p:
            x = thresholds[order[k]]
            lo, hi = 0, size  # first stack slot whose value does not reach x
            while lo < hi:
                mid = (lo + hi) // 2
                w = values[stack[mid]]
                if (w >= x) if strict else (w > x):
                    hi = mid
                else:
                    lo = mid + 1
            if lo > 0:
                out[order[k]] = stack[lo - 1]
            k -= 1
    return out


class LevelWatch(Generic[T]):
    """Items waiting for a value to fall to their threshold (or below it, if `strict`), kept
    sorted so that each candle costs a comparison and each hit a pop."""

    __slots__ = ("_items", "_keys", "_strict")

    def __init__(self, strict: bool) -> None:
        self._strict = strict
        self._keys: list[float] = []
        self._items: list[T] = []

    def add(self, threshold: float, item: T) -> None:
        at = bisect_right(self._keys, threshold)
        self._keys.insert(at, threshold)
        self._items.insert(at, item)

    def reached(self, value: float) -> list[T]:
        keys, hits = self._keys, []
        while keys and (keys[-1] > value if self._strict else keys[-1] >= value):
            keys.pop()
            hits.append(self._items.pop())
        return hits

    def __iter__(self) -> Iterator[T]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)


class SideWatch(Generic[T]):
    """The incremental twin of `first_reached`: bullish items wait for a low at or below their
    level, bearish ones for a high at or above it (beyond it, if `strict`)."""

    __slots__ = ("_above", "_below")

    def __init__(self, strict: bool) -> None:
        self._below: LevelWatch[T] = LevelWatch(strict)
        self._above: LevelWatch[T] = LevelWatch(strict)

    def add(self, side: int, level: float, item: T) -> None:
        if side == BULLISH:
            self._below.add(level, item)
        else:
            self._above.add(-level, item)

    def reached(self, low: float, high: float) -> list[T]:
        """The items this bar reaches, removed from the watch."""
        if not (self._below or self._above):
            return []
        return self._below.reached(low) + self._above.reached(-high)

    def __iter__(self) -> Iterator[T]:
        yield from self._below
        yield from self._above

    def __len__(self) -> int:
        return len(self._below) + len(self._above)
