"""Order blocks: the last opposite-colour candle before a displacement that breaks structure.

When bar t breaks structure bullishly (a BOS or CHoCH, see `structure`) and the latest bullish
displacement candle d <= t (see `displacement`) came after the broken swing's pivot, the bullish
order block is the last bearish candle (close < open) before d: its high .. low. Bearish blocks
mirror this. The block is marked at its own candle and `known` from t, the breaking bar; a
candle that already became a block for an earlier break is not reported again.

From the bar after t on, a block is `mitigated` by the first bar trading into it (a low at or
below the top of a bullish block, a high at or above the bottom of a bearish one) and
`invalidated` by the first close beyond its far side (below the bottom of a bullish block,
above the top of a bearish one); -1 until then.

smartmoneyconcepts' `ob` takes instead the lowest candle between the swing and the break,
needs no displacement, breaks swings that are not confirmed yet, and deletes a block whose
"breaker" is later traded through.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from operator import attrgetter
from typing import NamedTuple

import numpy as np
import numpy.typing as npt
import pandas as pd

from trading_bot.core.model import Candle
from trading_bot.strategies.ict.indicators._common import (
    BULLISH,
    NO_BAR,
    IntArray,
    SideWatch,
    check_closed,
    first_reached,
    price_arrays,
)
from trading_bot.strategies.ict.indicators.structure import (
    DisplacementTracker,
    StructureBreak,
    StructureTracker,
    displacement_sides,
    market_structure,
)

_BY_INDEX = attrgetter("index")


@dataclass(frozen=True, slots=True)
class OrderBlock:
    """The block of candle `index` (open time `time`), known from bar position `known`;
    `mitigated` and `invalidated` are bar positions, -1 until they happen."""

    side: int
    index: int
    top: float
    bottom: float
    time: int
    known: int
    mitigated: int = NO_BAR
    invalidated: int = NO_BAR

    @property
    def near_edge(self) -> float:
        """The edge a return of price reaches first: the top of a bullish block."""
        return self.top if self.side == BULLISH else self.bottom

    @property
    def far_edge(self) -> float:
        """The edge a close beyond which invalidates the block."""
        return self.bottom if self.side == BULLISH else self.top


class OrderBlockUpdate(NamedTuple):
    """What one candle made known: the block it formed, if any, the blocks it mitigated and
    invalidated (with those fields set), and its break of structure, if any."""

    formed: OrderBlock | None
    mitigated: list[OrderBlock]
    invalidated: list[OrderBlock]
    structure_break: StructureBreak | None


def order_blocks(ohlc: pd.DataFrame, swing_length: int, k: float, atr_period: int) -> pd.DataFrame:
    """Blocks marked at their candle: `ob` (1.0 bullish, -1.0 bearish, NaN none), `top`,
    `bottom`, and the bar positions `known`, `mitigated` and `invalidated` (-1: not (yet))."""
    open_, high, low, close = price_arrays(ohlc, "open", "high", "low", "close")
    structure = market_structure(ohlc, swing_length)
    moves = displacement_sides(ohlc, k, atr_period)
    breaks = np.flatnonzero(structure["broken_swing"].to_numpy(dtype=np.int64) >= 0)
    bos, choch = (structure[c].to_numpy(dtype=np.float64) for c in ("bos", "choch"))
    side = np.fmax(bos, choch)[breaks].astype(np.int64)
    swing = structure["broken_swing"].to_numpy(dtype=np.int64)[breaks]
    colour = np.sign(close - open_)
    # For a bullish break: the latest bullish displacement up to the break, and the latest
    # bearish candle before that displacement (mirrored for bearish breaks).
    move = np.where(side == BULLISH, _latest(moves == 1)[breaks], _latest(moves == -1)[breaks])
    block = np.full(len(breaks), NO_BAR, dtype=np.int64)
    for sign in (1, -1):
        rows = np.flatnonzero((side == sign) & (move > swing))
        block[rows] = _latest(colour == -sign, strictly_before=True)[move[rows]]
    valid = np.flatnonzero(block != NO_BAR)
    _, first = np.unique(block[valid], return_index=True)  # a candle is a block once
    valid = valid[first]
    rows, known, side = block[valid], breaks[valid], side[valid]
    top, bottom = high[rows], low[rows]
    near = np.where(side == BULLISH, top, bottom)
    far = np.where(side == BULLISH, bottom, top)
    columns = {
        "ob": np.full(len(close), np.nan),
        "top": np.full(len(close), np.nan),
        "bottom": np.full(len(close), np.nan),
        "known": np.full(len(close), NO_BAR, dtype=np.int64),
        "mitigated": np.full(len(close), NO_BAR, dtype=np.int64),
        "invalidated": np.full(len(close), NO_BAR, dtype=np.int64),
    }
    columns["ob"][rows] = side
    columns["top"][rows] = top
    columns["bottom"][rows] = bottom
    columns["known"][rows] = known
    columns["mitigated"][rows] = first_reached(side, near, known + 1, low, high, strict=False)
    columns["invalidated"][rows] = first_reached(side, far, known + 1, close, close, strict=True)
    return pd.DataFrame(columns, index=ohlc.index)


def _latest(mask: npt.NDArray[np.bool_], strictly_before: bool = False) -> IntArray:
    """At each bar, the position of the latest bar at or before it (strictly before it, if
    asked) where `mask` holds; -1 where there is none."""
    positions = np.where(mask, np.arange(len(mask)), NO_BAR)
    latest = np.maximum.accumulate(positions) if len(mask) else positions
    if strictly_before:
        latest = np.concatenate(([NO_BAR], latest[:-1]))
    return latest.astype(np.int64)


class _Leg(NamedTuple):
    """A displacement candle's position and the block candle before it (position, candle)."""

    move: int
    block: int
    candle: Candle


class OrderBlockTracker:
    """Incremental `order_blocks`: `update` returns what each candle made known; `blocks` are
    the known blocks not invalidated yet (mitigated or not); `structure` is the market
    structure it follows (trend, latest swings)."""

    def __init__(self, swing_length: int, k: float, atr_period: int) -> None:
        self.structure = StructureTracker(swing_length)
        self._displacement = DisplacementTracker(k, atr_period)
        self._bars = 0
        # Keyed by side: the latest candle of the opposite colour, the latest displacement leg
        # and the last candle that became a block.
        self._opposite: dict[int, tuple[int, Candle]] = {}
        self._leg: dict[int, _Leg] = {}
        self._last_block = {1: NO_BAR, -1: NO_BAR}
        self._blocks: dict[int, OrderBlock] = {}
        self._touch: SideWatch[int] = SideWatch(strict=False)
        self._close_beyond: SideWatch[int] = SideWatch(strict=True)

    @property
    def blocks(self) -> list[OrderBlock]:
        """Known blocks not invalidated yet, oldest first."""
        return sorted(self._blocks.values(), key=_BY_INDEX)

    def update(self, candle: Candle) -> OrderBlockUpdate:
        check_closed(candle)
        position = self._bars
        self._bars += 1
        mitigated = []
        for index in sorted(self._touch.reached(candle.low, candle.high)):
            self._blocks[index] = replace(self._blocks[index], mitigated=position)
            mitigated.append(self._blocks[index])
        invalidated = [
            replace(self._blocks.pop(index), invalidated=position)
            for index in sorted(self._close_beyond.reached(candle.close, candle.close))
        ]
        self._follow_legs(candle, position)
        brk = self.structure.update(candle)
        formed = None
        leg = self._leg.get(brk.side) if brk is not None else None
        if (
            brk is not None
            and leg is not None
            and leg.move > brk.swing.index  # the displacement came after the broken swing
            and leg.block != self._last_block[brk.side]  # and its candle is not a block yet
        ):
            formed = self._form(brk.side, leg, position)
        return OrderBlockUpdate(formed, mitigated, invalidated, brk)

    def _follow_legs(self, candle: Candle, position: int) -> None:
        move = self._displacement.update(candle)
        if move != 0 and move in self._opposite:
            self._leg[move] = _Leg(position, *self._opposite[move])
        elif move != 0:
            self._leg.pop(move, None)  # a displacement with no block candle before it
        colour = (candle.close > candle.open) - (candle.close < candle.open)
        if colour != 0:
            self._opposite[-colour] = (position, candle)

    def _form(self, side: int, leg: _Leg, known: int) -> OrderBlock:
        candle = leg.candle
        block = OrderBlock(side, leg.block, candle.high, candle.low, candle.open_time, known)
        self._last_block[side] = leg.block
        self._blocks[leg.block] = block
        self._touch.add(side, block.near_edge, leg.block)
        self._close_beyond.add(side, block.far_edge, leg.block)
        return block
