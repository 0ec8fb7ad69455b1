"""Liquidity: equal highs and lows, the levels price has not taken yet, and sweeps of them.

Stops rest beyond highs (buy-side liquidity, `side` 1) and beyond lows (sell-side, `side` -1).

Equal highs. Two swing highs are relatively equal when their levels differ by at most
`tolerance_atr` x ATR, the ATR at the bar that confirms the later one, and nothing traded above
the higher of the two between their pivots (a higher peak between them took the first one's
stops already). smartmoneyconcepts scales its band by the whole data set's range, which
leaks the future into every bar; an ATR known at the confirming bar does not. A new swing high
pairs with the latest earlier swing high it is equal to and joins that one's group, unless it
is above the group's level: then the group has been traded through (the new pivot did it) and
the two start a new group. A group's level is its highest high, since stops rest above all of
them; it is marked at the bar that confirms the swing completing or growing it. Lows mirror
highs throughout.

Levels and sweeps. Swing levels, equal-highs/lows groups and previous day / week / session
highs and lows (see `sessions.previous_levels`) are levels from the bar at which they are known
(`liquidity_levels`). The first candle whose high goes above a high-side level (low below a
low-side one) takes it, and the level is consumed: its stops are filled, whatever happens next.
When that candle closes back inside (below the high, above the low) it is a sweep, reported;
when it closes beyond, it is a break, which market structure reports. A level known at a bar
can be taken by that bar: a previous-day high is known when the new day's first candle opens.
One price can be several levels (a swing high that is also an equal-highs group or yesterday's
high): each is its own level and its own sweep. A new previous-period level at the same price
as the one before it is the same level.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from trading_bot.core.model import Candle
from trading_bot.strategies.ict.indicators._common import (
    BEARISH,
    BULLISH,
    NO_BAR,
    FloatArray,
    IntArray,
    SideWatch,
    check_closed,
    check_positive,
    first_reached,
    price_arrays,
)
from trading_bot.strategies.ict.indicators.swings import Swing

SWING_KINDS = {BULLISH: "swing_high", BEARISH: "swing_low"}
EQUAL_KINDS = {BULLISH: "equal_highs", BEARISH: "equal_lows"}
_PREVIOUS_SIDES = {"_high": BULLISH, "_low": BEARISH}
LEVEL_COLUMNS = ["side", "kind", "price", "known"]
ObjectArray = npt.NDArray[np.object_]


@dataclass(frozen=True, slots=True)
class EqualLevels:
    """A group of `count` equal highs (`side` 1) or lows (-1) at `level`, its extreme, from
    the swing pivoted at bar `first` to the one at `last`, known from bar position `known`."""

    side: int
    level: float
    count: int
    first: int
    last: int
    known: int


@dataclass(frozen=True, slots=True)
class Level:
    """Liquidity at `price`, above (`side` 1) or below (-1), known from bar position `known`;
    `kind` says what made it: swing_high, equal_lows, prev_day_high, prev_asia_low, ..."""

    side: int
    kind: str
    price: float
    known: int


@dataclass(frozen=True, slots=True)
class Sweep:
    """Bar position `bar` traded through `level` and closed back inside it."""

    bar: int
    level: Level


def equal_highs_lows(
    ohlc: pd.DataFrame,
    swings: pd.DataFrame,
    atr: pd.Series | FloatArray,
    tolerance_atr: float = 0.1,
) -> pd.DataFrame:
    """Groups marked at the bar they become known: `equal` (1.0 highs, -1.0 lows, NaN none),
    `level`, `count` (members so far, 0 none) and `first` / `last` (pivot positions of the
    group's first member and of the swing that completed or grew it, -1 none).

    `swings` is `swing_highs_lows(ohlc, ...)`, `atr` an ATR of `ohlc` (`structure.atr`)."""
    tolerance_atr = check_positive("tolerance_atr", tolerance_atr)
    high, low = price_arrays(ohlc, "high", "low")
    atr_values = _aligned(atr, len(high), "atr")
    n = len(high)
    if len(swings) != n:
        raise ValueError(f"the swings frame has {len(swings)} rows for {n} candles")
    swing_side, swing_level, confirmed = _swing_arrays(swings)
    equal, level = np.full(n, np.nan), np.full(n, np.nan)
    count, first, last = (np.full(n, fill, dtype=np.int64) for fill in (0, NO_BAR, NO_BAR))
    for side, outward in ((BULLISH, high), (BEARISH, -low)):
        pivots = np.flatnonzero(swing_side == side)
        if not len(pivots):
            continue
        known = confirmed[pivots]
        # What the incremental form sees candle by candle, folded per swing: the highest
        # outward price of the bars since the previous swing's confirmation.
        peaks = np.maximum.reduceat(outward[: known[-1] + 1], np.r_[0, known[:-1] + 1])
        pool = _EqualPool()
        for pivot, at, peak in zip(pivots.tolist(), known.tolist(), peaks.tolist(), strict=True):
            pool.extend(peak)
            group = pool.add(pivot, side * swing_level[pivot], tolerance_atr * atr_values[at])
            if group is not None:
                equal[at], level[at] = side, side * group.level
                count[at], first[at], last[at] = group.count, group.first, pivot
    return pd.DataFrame(
        {"equal": equal, "level": level, "count": count, "first": first, "last": last},
        index=ohlc.index,
    )


class EqualLevelsTracker:
    """Incremental `equal_highs_lows`: feed each closed candle with the swings it confirmed
    (`SwingTracker.update`) and the ATR at it (`AtrTracker.update`)."""

    def __init__(self, tolerance_atr: float = 0.1) -> None:
        self.tolerance_atr = check_positive("tolerance_atr", tolerance_atr)
        self._pools = {BULLISH: _EqualPool(), BEARISH: _EqualPool()}

    def update(self, candle: Candle, swings: Iterable[Swing], atr: float) -> list[EqualLevels]:
        check_closed(candle)
        self._pools[BULLISH].extend(candle.high)
        self._pools[BEARISH].extend(-candle.low)
        found = []
        for swing in swings:
            side = swing.side
            pool = self._pools[side]
            group = pool.add(swing.index, side * swing.level, self.tolerance_atr * atr)
            if group is not None:
                found.append(
                    EqualLevels(
                        side,
                        side * group.level,
                        group.count,
                        group.first,
                        swing.index,
                        swing.confirmed,
                    )
                )
        return found


@dataclass(slots=True)
class _Group:
    level: float  # outward: highs as they are, lows negated
    count: int
    first: int


class _EqualPool:
    """The swing highs a later swing high may still be equal to (lows ride along negated).

    A swing high with a later one at or above it is never the latest equal partner again: any
    swing equal to it, with nothing higher between, is equal to the later one too. So the pool
    is a stack of strictly falling levels, each with `after`, the highest price since its pivot
    up to the next entry's pivot (the top's grows with every candle): the highest price between
    an entry and a new swing is the maximum of what lies above it on the stack."""

    __slots__ = ("_after", "_groups", "_levels", "_pivots")

    def __init__(self) -> None:
        self._levels: list[float] = []
        self._pivots: list[int] = []
        self._after: list[float] = []
        self._groups: list[_Group | None] = []

    def extend(self, price: float) -> None:
        """A price traded after the latest swing."""
        if self._after:
            self._after[-1] = max(self._after[-1], price)

    def add(self, pivot: int, level: float, tolerance: float) -> _Group | None:
        """A new swing; the group it completes or grows, if any. A NaN tolerance (the ATR's
        warm-up) pairs nothing."""
        group = self._pair(level, tolerance) if tolerance >= 0 else None
        merged = -math.inf
        while self._levels and self._levels[-1] <= level:
            merged = max(merged, self._levels.pop(), self._after.pop())
            self._pivots.pop()
            self._groups.pop()
        self.extend(merged)
        self._levels.append(level)
        self._pivots.append(pivot)
        self._after.append(-math.inf)
        self._groups.append(group)
        return group

    def _pair(self, level: float, tolerance: float) -> _Group | None:
        levels, after = self._levels, self._after
        ceiling = level + tolerance
        between = -math.inf  # highest price between entry k and the new swing
        for k in range(len(levels) - 1, -1, -1):
            between = max(between, after[k])
            earlier = levels[k]
            if earlier > ceiling or between > ceiling:
                return None  # entries further down are higher still
            if abs(earlier - level) <= tolerance and between <= max(earlier, level):
                return self._join(k, level)
            between = max(between, earlier)
        return None

    def _join(self, k: int, level: float) -> _Group:
        group = self._groups[k]
        if group is not None and level <= group.level:
            group.count += 1
            return group
        group = _Group(max(self._levels[k], level), 2, self._pivots[k])
        self._groups[k] = group
        return group


def liquidity_levels(
    swings: pd.DataFrame | None = None,
    equal: pd.DataFrame | None = None,
    previous: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Every level the given indicators of one candle frame make known, one row each, ordered
    by `known`: columns `side`, `kind`, `price`, `known` (bar position). `swings` from
    `swing_highs_lows`, `equal` from `equal_highs_lows` (a group is a level when it forms, not
    when it grows), `previous` from `sessions.previous_levels` (a column is a level each time
    its value changes)."""
    parts: list[tuple[IntArray, ObjectArray, FloatArray, IntArray]] = []
    if swings is not None:
        side, level, confirmed = _swing_arrays(swings)
        rows = np.flatnonzero(side != 0)
        side = side[rows]
        parts.append((side, _kinds(side, SWING_KINDS), level[rows], confirmed[rows]))
    if equal is not None:
        rows = np.flatnonzero(equal["count"].to_numpy(dtype=np.int64) == 2)
        side = equal["equal"].to_numpy(dtype=np.float64)[rows].astype(np.int64)
        level = equal["level"].to_numpy(dtype=np.float64)[rows]
        parts.append((side, _kinds(side, EQUAL_KINDS), level, rows))
    if previous is not None:
        for column in map(str, previous.columns):
            values = previous[column].to_numpy(dtype=np.float64)
            rows = np.flatnonzero(~np.isnan(values) & (values != np.r_[np.nan, values[:-1]]))
            side = np.full(len(rows), _previous_side(column), dtype=np.int64)
            parts.append((side, np.full(len(rows), column, dtype=object), values[rows], rows))
    if not parts:
        raise ValueError("liquidity_levels needs swings, equal highs/lows or previous levels")
    columns = [np.concatenate(arrays) for arrays in zip(*parts, strict=True)]
    order = np.argsort(columns[-1], kind="stable")
    return pd.DataFrame(
        {name: array[order] for name, array in zip(LEVEL_COLUMNS, columns, strict=True)}
    )


def sweeps(ohlc: pd.DataFrame, levels: pd.DataFrame) -> pd.DataFrame:
    """One row per sweep, indexed by the sweeping candle's open time, in bar order: `bar`
    (its position, when the sweep is known), and the swept level's `side`, `kind`, `price`
    and `known`. Within a bar: lows before highs, nearest level first."""
    high, low, close = price_arrays(ohlc, "high", "low", "close")
    side = levels["side"].to_numpy(dtype=np.int64)
    price = levels["price"].to_numpy(dtype=np.float64)
    known = levels["known"].to_numpy(dtype=np.int64)
    kind = levels["kind"].to_numpy(dtype=object)
    # A high-side level waits for a high above it: a "bearish" item in first_reached's terms.
    taken = first_reached(-side, price, known, low, high, strict=True)
    rows = np.flatnonzero(taken != NO_BAR)
    bar = taken[rows]
    back_inside = side[rows] * close[bar] < side[rows] * price[rows]
    rows, bar = rows[back_inside], bar[back_inside]
    kind_rank = np.unique(kind[rows], return_inverse=True)[1]
    # The order of `_sweep_order` within each bar; np.lexsort sorts by its last key first.
    order = np.lexsort((kind_rank, known[rows], side[rows] * price[rows], side[rows], bar))
    rows, bar = rows[order], bar[order]
    return pd.DataFrame(
        {
            "bar": bar,
            "side": side[rows],
            "kind": kind[rows],
            "price": price[rows],
            "known": known[rows],
        },
        index=ohlc.index[bar],
    )


class LiquidityTracker:
    """Incremental `liquidity_levels` + `sweeps`: feed each closed candle with what the other
    trackers made known at it; `update` returns the candle's sweeps, in the batch order.
    `untaken` answers "which liquidity is above (below) price now"."""

    def __init__(self) -> None:
        self._watch: SideWatch[Level] = SideWatch(strict=True)
        self._previous: dict[str, float] = {}
        self._bars = 0

    def update(
        self,
        candle: Candle,
        swings: Iterable[Swing] = (),
        equal: Iterable[EqualLevels] = (),
        previous: Mapping[str, float] | None = None,
    ) -> list[Sweep]:
        check_closed(candle)
        position = self._bars
        self._bars += 1
        for level in self._new_levels(position, swings, equal, previous or {}):
            self._watch.add(-level.side, level.price, level)
        taken = self._watch.reached(candle.low, candle.high)
        inside = [lv for lv in taken if lv.side * candle.close < lv.side * lv.price]
        return [Sweep(position, level) for level in sorted(inside, key=_sweep_order)]

    def untaken(self, side: int) -> list[Level]:
        """The levels above price (`side` 1) or below it (-1) not taken yet, nearest first."""
        return sorted((lv for lv in self._watch if lv.side == side), key=_sweep_order)

    def _new_levels(
        self,
        position: int,
        swings: Iterable[Swing],
        equal: Iterable[EqualLevels],
        previous: Mapping[str, float],
    ) -> Iterable[Level]:
        for swing in swings:
            _check_known(swing.confirmed, position, "swing")
            yield Level(swing.side, SWING_KINDS[swing.side], swing.level, swing.confirmed)
        for group in equal:
            _check_known(group.known, position, "equal highs/lows group")
            if group.count == 2:
                yield Level(group.side, EQUAL_KINDS[group.side], group.level, group.known)
        for kind, value in previous.items():
            if not math.isnan(value) and value != self._previous.get(kind, math.nan):
                yield Level(_previous_side(kind), kind, value, position)
            self._previous[kind] = value


def _sweep_order(level: Level) -> tuple[int, float, int, str]:
    return level.side, level.side * level.price, level.known, level.kind


def _check_known(known: int, position: int, what: str) -> None:
    if known != position:
        raise ValueError(
            f"a {what} known at bar {known} was given with bar {position}: pass each candle "
            "what the other trackers returned for that same candle"
        )


def _previous_side(column: str) -> int:
    for suffix, side in _PREVIOUS_SIDES.items():
        if column.endswith(suffix):
            return side
    raise ValueError(f"previous level {column!r} should end in _high or _low")


def _kinds(side: IntArray, kinds: Mapping[int, str]) -> ObjectArray:
    return np.array([kinds[s] for s in side.tolist()], dtype=object)


def _swing_arrays(swings: pd.DataFrame) -> tuple[IntArray, FloatArray, IntArray]:
    """Side (0 none), level and confirmation position of a `swing_highs_lows` frame."""
    side = np.nan_to_num(swings["swing"].to_numpy(dtype=np.float64)).astype(np.int64)
    return (
        side,
        swings["level"].to_numpy(dtype=np.float64),
        swings["confirmed"].to_numpy(dtype=np.int64),
    )


def _aligned(values: pd.Series | npt.ArrayLike, size: int, name: str) -> FloatArray:
    array = np.asarray(values, dtype=np.float64)
    if array.shape != (size,):
        raise ValueError(f"{name} has shape {array.shape} for {size} candles")
    return array
