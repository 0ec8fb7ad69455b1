"""Volatility and market structure: ATR, displacement candles, breaks of structure (BOS) and
changes of character (CHoCH, also called market structure shifts).

ATR is Wilder's: the true range of the first bar is its high - low; the first ATR, at bar
period-1, is the plain mean of the first `period` true ranges; after that
atr[t] = (atr[t-1] * (period-1) + tr[t]) / period. Before bar period-1 it is NaN.

A displacement is a candle whose body |close - open| is at least k times the ATR at the bar
before it, atr[t-1]: the yardstick is the volatility known before the candle opened, so a huge
candle does not dilute its own test. Its side is its colour; none during the ATR's warm-up.

Market structure follows the latest confirmed swing high and swing low (see `swings`). A close
above the latest swing high breaks it bullishly, a close below the latest swing low bearishly;
each swing is broken once. The break is a BOS when it goes the trend's way (or sets the first
trend) and a CHoCH when it goes against it; the trend becomes the break's side. A break at bar t
tests the swings confirmed before t: a swing confirmed at t (which t's close can never break, as
t is in its window) takes over from t+1. A close can never break both sides: the latest swing
high and low both bound closes since before either was confirmed, so the high is above the low.

smartmoneyconcepts' `bos_choch` differs in kind, not detail: it classifies a pattern of four
alternating swings, the last of which is confirmed after the break, labels the break at the
third swing's pivot (before the breaking close), finds the breaking close by scanning ahead,
and deletes breaks that a later one overtakes. Ours are marked on the breaking bar, from swings
already confirmed, and never change.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numba import njit

from trading_bot.core.model import Candle
from trading_bot.strategies.ict.indicators._common import (
    BEARISH,
    BULLISH,
    NO_BAR,
    FloatArray,
    IntArray,
    check_closed,
    check_count,
    check_positive,
    price_arrays,
    side_column,
)
from trading_bot.strategies.ict.indicators.swings import Swing, SwingTracker, swing_highs_lows


def atr(ohlc: pd.DataFrame, period: int) -> pd.Series:
    """Wilder's average true range at each bar, from that bar and the ones before it."""
    period = check_count("period", period)
    high, low, close = price_arrays(ohlc, "high", "low", "close")
    return pd.Series(_atr(high, low, close, period), index=ohlc.index, name="atr")


def displacement(ohlc: pd.DataFrame, k: float, atr_period: int) -> pd.Series:
    """1.0 (bullish) or -1.0 (bearish) on candles whose body is at least k x atr[t-1], else
    NaN."""
    sides = displacement_sides(ohlc, k, atr_period)
    return pd.Series(
        side_column(sides),
        index=ohlc.index,
        name="displacement",
    )


def displacement_sides(ohlc: pd.DataFrame, k: float, atr_period: int) -> IntArray:
    """`displacement` as integers, 0 for none: what order blocks build on."""
    k = check_positive("k", k)
    atr_period = check_count("atr_period", atr_period)
    open_, high, low, close = price_arrays(ohlc, "open", "high", "low", "close")
    previous_atr = np.empty_like(close)
    previous_atr[:1] = np.nan
    previous_atr[1:] = _atr(high, low, close, atr_period)[:-1]
    body = close - open_
    big = np.abs(body) >= k * previous_atr  # False while the ATR is NaN
    return np.where(big, np.sign(body), 0).astype(np.int64)


def market_structure(ohlc: pd.DataFrame, swing_length: int) -> pd.DataFrame:
    """Breaks marked on the breaking bar: `bos` and `choch` (1.0 bullish, -1.0 bearish, NaN
    none; at most one of them per bar), `level` (the broken swing's level) and `broken_swing`
    (bar position of that swing's pivot, -1 where nothing broke)."""
    swings = swing_highs_lows(ohlc, swing_length)
    (close,) = price_arrays(ohlc, "close")
    side = np.nan_to_num(swings["swing"].to_numpy(dtype=np.float64)).astype(np.int64)
    levels = swings["level"].to_numpy(dtype=np.float64)
    bos, choch, broken = _structure(close, side, levels, swing_length)
    level = np.where(broken >= 0, levels[broken], np.nan)
    return pd.DataFrame(
        {
            "bos": side_column(bos),
            "choch": side_column(choch),
            "level": level,
            "broken_swing": broken,
        },
        index=ohlc.index,
    )


@dataclass(frozen=True, slots=True)
class StructureBreak:
    """Bar position `index` (open time `time`) closed beyond `swing`'s level on `side` (1 up,
    -1 down); `choch` says it went against the trend, otherwise it is a break of structure."""

    side: int
    choch: bool
    index: int
    time: int
    level: float
    swing: Swing


class AtrTracker:
    """Incremental Wilder ATR; `value` is NaN during the warm-up."""

    __slots__ = ("_bars", "_previous_close", "_total", "period", "value")

    def __init__(self, period: int) -> None:
        self.period = check_count("period", period)
        self.value = math.nan
        self._total = 0.0
        self._bars = 0
        self._previous_close = math.nan

    def update(self, candle: Candle) -> float:
        check_closed(candle)
        self._bars += 1
        tr = _true_range(candle.high, candle.low, self._previous_close)
        self.value, self._total = _next_atr(self.value, self._total, tr, self._bars, self.period)
        self._previous_close = candle.close
        return self.value


class DisplacementTracker:
    """Incremental `displacement_sides`: `update` returns 1, -1 or 0 for the candle."""

    __slots__ = ("_atr", "k")

    def __init__(self, k: float, atr_period: int) -> None:
        self.k = check_positive("k", k)
        self._atr = AtrTracker(atr_period)

    def update(self, candle: Candle) -> int:
        body = candle.close - candle.open
        big = abs(body) >= self.k * self._atr.value  # the ATR before this candle
        self._atr.update(candle)
        return (1 if body > 0 else -1 if body < 0 else 0) if big else 0


class StructureTracker:
    """Incremental `market_structure`: `update` returns the break a candle makes, if any.
    `trend` is 1, -1 or 0 before the first break; `swing_high` and `swing_low` are the latest
    confirmed swings still unbroken (None once broken, until the next one); `swings` tracks
    every confirmed swing."""

    def __init__(self, swing_length: int) -> None:
        self.swings = SwingTracker(swing_length)
        self.trend = 0
        self.swing_high: Swing | None = None
        self.swing_low: Swing | None = None
        self._bars = 0

    def update(self, candle: Candle) -> StructureBreak | None:
        check_closed(candle)
        position = self._bars
        self._bars += 1
        high, low = self.swing_high, self.swing_low
        side = _break_side(
            candle.close,
            high.level if high is not None else math.nan,
            low.level if low is not None else math.nan,
        )
        brk = None
        if side != 0:
            broken = high if side == BULLISH else low
            assert broken is not None  # a NaN level breaks nothing
            brk = StructureBreak(
                side, self.trend == -side, position, candle.open_time, broken.level, broken
            )
            self.trend = side
            if side == BULLISH:
                self.swing_high = None
            else:
                self.swing_low = None
        for swing in self.swings.update(candle):
            if swing.side == BULLISH:
                self.swing_high = swing
            else:
                self.swing_low = swing
        return brk


def _true_range(high: float, low: float, previous_close: float) -> float:
    """High - low, stretched to the previous close (NaN before the first bar)."""
    if math.isnan(previous_close):
        return high - low
    return max(high - low, abs(high - previous_close), abs(low - previous_close))


def _next_atr(atr: float, total: float, tr: float, bars: int, period: int) -> tuple[float, float]:
    """(ATR, running total of the warm-up's true ranges) after the `bars`-th true range."""
    if bars < period:
        return math.nan, total + tr
    if bars == period:
        return (total + tr) / period, total + tr
    return (atr * (period - 1) + tr) / period, total


def _break_side(close: float, high_level: float, low_level: float) -> int:
    """1 when the close is above the swing high, -1 below the swing low (NaN: no swing)."""
    if close > high_level:
        return BULLISH
    if close < low_level:
        return BEARISH
    return 0


# The same rules compiled for the batch kernels, so both forms do the same arithmetic.
_true_range_compiled = njit(cache=True)(_true_range)
_next_atr_compiled = njit(cache=True)(_next_atr)
_break_side_compiled = njit(cache=True)(_break_side)


@njit(cache=True)
def _atr(high: FloatArray, low: FloatArray, close: FloatArray, period: int) -> FloatArray:
    out = np.empty(high.size)
    value, total, previous_close = np.nan, 0.0, np.nan
    for t in range(high.size):
        tr = _true_range_compiled(high[t], low[t], previous_close)
        value, total = _next_atr_compiled(value, total, tr, t + 1, period)
        out[t] = value
        previous_close = close[t]
    return out


@njit(cache=True)
def _structure(
    close: FloatArray, side: IntArray, level: FloatArray, swing_length: int
) -> tuple[IntArray, IntArray, IntArray]:
    """BOS side, CHoCH side and broken swing position per bar, walking the bars once."""
    size = close.size
    bos = np.zeros(size, dtype=np.int64)
    choch = np.zeros(size, dtype=np.int64)
    broken = np.full(size, NO_BAR, dtype=np.int64)
    trend = 0
    high, low = NO_BAR, NO_BAR  # pivot positions of the unbroken latest swings
    for t in range(size):
        s = _break_side_compiled(
            close[t],
            level[high] if high != NO_BAR else np.nan,
            level[low] if low != NO_BAR else np.nan,
        )
        if s != 0:
            if trend == -s:
                choch[t] = s
            else:
                bos[t] = s
            trend = s
            if s == BULLISH:
                broken[t], high = high, NO_BAR
            else:
                broken[t], low = low, NO_BAR
        pivot = t - swing_length  # the swing, if any, that bar t confirms
        if pivot >= 0 and side[pivot] != 0:
            if side[pivot] == BULLISH:
                high = pivot
            else:
                low = pivot
    return bos, choch, broken
