"""Fair value gaps: three candles whose first and third leave a price range untraded.

Bullish at bar i when low[i] > high[i-2] and the middle candle closes up (close > open): the
gap is high[i-2] .. low[i]. Bearish when high[i] < low[i-2] and the middle candle closes down:
the gap is high[i] .. low[i-2]. (The middle-candle colour is smartmoneyconcepts' rule too: the
gap is left by a move its way.) A gap is marked on its third candle i, the first bar at which
it exists; smartmoneyconcepts marks the middle candle, one bar before the candle that makes the
gap has happened.

A gap is mitigated at the first later bar that trades into it, smartmoneyconcepts' rule: a low
at or below the top of a bullish gap, a high at or above the bottom of a bearish one. Until that
bar closes, `mitigated` is -1.

Consecutive gaps are never joined (smartmoneyconcepts' `join_consecutive=True` replaces a gap
with a wider one when the next candle makes another, erasing a gap that was already known); a
strategy that wants them joined can merge the gaps of adjacent bars as they arrive.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from operator import attrgetter
from typing import NamedTuple

import numpy as np
import pandas as pd

from trading_bot.core.model import Candle
from trading_bot.strategies.ict.indicators._common import (
    BEARISH,
    BULLISH,
    NO_BAR,
    SideWatch,
    check_closed,
    first_reached,
    price_arrays,
    side_column,
)

_BY_INDEX = attrgetter("index")


@dataclass(frozen=True, slots=True)
class Fvg:
    """A gap known from its third candle, bar position `index` (open time `time`); `mitigated`
    is the bar position that first traded into it, -1 while none has."""

    side: int
    index: int
    top: float
    bottom: float
    time: int
    mitigated: int = NO_BAR

    @property
    def near_edge(self) -> float:
        """The edge a return of price reaches first: the top of a bullish gap."""
        return self.top if self.side == BULLISH else self.bottom


class FvgUpdate(NamedTuple):
    """What one candle made known: the gap it completed, if any, and the gaps it mitigated."""

    formed: Fvg | None
    mitigated: list[Fvg]


def fvg(ohlc: pd.DataFrame) -> pd.DataFrame:
    """Gaps marked on their third candle: `fvg` (1.0 bullish, -1.0 bearish, NaN none), `top`,
    `bottom`, and `mitigated` (bar position of the first later bar trading into it, or -1)."""
    open_, high, low, close = price_arrays(ohlc, "open", "high", "low", "close")
    side = np.zeros(len(high), dtype=np.int64)
    top = np.full(len(high), np.nan)
    bottom = np.full(len(high), np.nan)
    if len(high) >= 3:
        up, down = close[1:-1] > open_[1:-1], close[1:-1] < open_[1:-1]
        bullish = up & (low[2:] > high[:-2])
        bearish = down & (high[2:] < low[:-2])
        side[2:] = bullish.astype(np.int64) - bearish
        top[2:] = np.where(bullish, low[2:], np.where(bearish, low[:-2], np.nan))
        bottom[2:] = np.where(bullish, high[:-2], np.where(bearish, high[2:], np.nan))
    mitigated = np.full(len(high), NO_BAR, dtype=np.int64)
    rows = np.flatnonzero(side)
    near_edge = np.where(side[rows] == BULLISH, top[rows], bottom[rows])
    mitigated[rows] = first_reached(side[rows], near_edge, rows + 1, low, high, strict=False)
    return pd.DataFrame(
        {
            "fvg": side_column(side),
            "top": top,
            "bottom": bottom,
            "mitigated": mitigated,
        },
        index=ohlc.index,
    )


class FvgTracker:
    """Incremental fair value gaps: feed closed candles in order. `update` returns what each
    candle made known; `open_gaps` are the gaps not mitigated yet."""

    def __init__(self) -> None:
        self._first: Candle | None = None
        self._middle: Candle | None = None
        self._bars = 0
        self._open: SideWatch[Fvg] = SideWatch(strict=False)

    @property
    def open_gaps(self) -> list[Fvg]:
        """Unmitigated gaps, oldest first."""
        return sorted(self._open, key=_BY_INDEX)

    def update(self, candle: Candle) -> FvgUpdate:
        check_closed(candle)
        position = self._bars
        self._bars += 1
        mitigated = self._open.reached(candle.low, candle.high)
        if mitigated:
            mitigated = [
                replace(gap, mitigated=position) for gap in sorted(mitigated, key=_BY_INDEX)
            ]
        formed = self._gap(candle, position)
        if formed is not None:
            self._open.add(formed.side, formed.near_edge, formed)
        self._first, self._middle = self._middle, candle
        return FvgUpdate(formed, mitigated)

    def _gap(self, last: Candle, position: int) -> Fvg | None:
        first, middle = self._first, self._middle
        if first is None or middle is None:
            return None
        if middle.close > middle.open and last.low > first.high:
            return Fvg(BULLISH, position, last.low, first.high, last.open_time)
        if middle.close < middle.open and last.high < first.low:
            return Fvg(BEARISH, position, first.low, last.high, last.open_time)
        return None
