"""What the ICT indicators know in a window, as things to draw: swing pivots, structure
breaks, fair value gaps and order blocks as boxes until they are mitigated or invalidated,
liquidity as lines until price takes it, sweeps, and the killzones as bands.

The indicators run on the window's candles and the history before them, nothing after the
window's end, so the layers show what was known by then.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from trading_bot.backtest.ict_plot.window import (
    HISTORY_CANDLES,
    NO_BAR,
    Axis,
    FloatArray,
    IntArray,
    PlotWindow,
    price_format,
)
from trading_bot.strategies.ict.indicators.fvg import fvg
from trading_bot.strategies.ict.indicators.liquidity import (
    equal_highs_lows,
    liquidity_levels,
    sweeps,
)
from trading_bot.strategies.ict.indicators.order_blocks import order_blocks
from trading_bot.strategies.ict.indicators.sessions import (
    FOREX_DAY,
    KILLZONES,
    UTC_DAY,
    killzone,
    previous_levels,
)
from trading_bot.strategies.ict.indicators.structure import atr, market_structure
from trading_bot.strategies.ict.indicators.swings import swing_highs_lows
from trading_bot.strategies.ict.strategy import Ict, IctParams
from trading_bot.strategies.registry import load_strategy_class, parse_params

LABEL_MIN_CANDLES = 4
BREAK_LABEL_MIN_CANDLES = 2
"""Level lines (structure breaks) shorter than this many candles, or than a sixtieth of the
window, go unlabelled, their hover still names them: their labels would crowd the candles."""

BULLISH, BEARISH = 1, -1

SESSION_LABELS = {"asia": "Asia", "london": "London", "ny_am": "NY AM", "ny_pm": "NY PM"}
_KIND_NAMES = {
    "swing_high": "swing high",
    "swing_low": "swing low",
    "equal_highs": "equal highs",
    "equal_lows": "equal lows",
}

Price = Callable[[float], str]


def indicator_params(strategy: str | None, params: dict[str, Any]) -> IctParams:
    """The indicator settings (swing length, ATR, ...): the `ict` strategy's own parameters when
    it is the strategy or when there is none; the defaults for another strategy. The strategy
    and its parameters are checked here, before any work (StrategyError says what is wrong)."""
    if strategy is None or load_strategy_class(strategy) is Ict:
        checked = parse_params(Ict, params)
        assert isinstance(checked, IctParams)
        return checked
    parse_params(load_strategy_class(strategy), params)
    return IctParams()


@dataclass(frozen=True, slots=True)
class Box:
    """A price zone from `x0` to `x1` (epoch ms on the chart), `bottom` to `top`."""

    side: int
    x0: float
    x1: float
    bottom: float
    top: float
    text: str


@dataclass(frozen=True, slots=True)
class Segment:
    """A horizontal line at `y` from `x0` to `x1`, with a short `label` and a hover `text`."""

    family: str
    side: int
    x0: float
    x1: float
    y: float
    label: str
    text: str


@dataclass(frozen=True, slots=True)
class Mark:
    side: int
    x: float
    y: float
    text: str


@dataclass(frozen=True, slots=True)
class Band:
    """A killzone session: the candles opening in it span `x0` to `x1`."""

    name: str
    x0: float
    x1: float


@dataclass(frozen=True, slots=True)
class BreakLine:
    """A close beyond a swing: from the swing's pivot `x0` to the breaking candle `x1`."""

    side: int
    choch: bool
    x0: float
    x1: float
    y: float
    label: str
    text: str


@dataclass(slots=True)
class IctLayers:
    """Everything the indicators know in the window, ready to draw (x clipped to it)."""

    swings: list[Mark] = field(default_factory=list)
    breaks: list[BreakLine] = field(default_factory=list)
    fvgs: list[Box] = field(default_factory=list)
    order_blocks: list[Box] = field(default_factory=list)
    levels: list[Segment] = field(default_factory=list)
    sweeps: list[Mark] = field(default_factory=list)
    killzones: list[Band] = field(default_factory=list)


def ict_layers(window: PlotWindow, params: IctParams) -> IctLayers:
    """The structures of `window` from the batch indicators, with the strategy's settings."""
    ohlc = window.ohlc
    axis = Axis(window)
    price = price_format(window.frame)
    high, low = ohlc["high"].to_numpy(np.float64), ohlc["low"].to_numpy(np.float64)
    start = window.start
    # Markers sit a little beyond the wick they mark, in proportion to the candles' size.
    offset = float(np.median(high[start:] - low[start:])) or float(np.mean(high[start:]) * 1e-4)
    swings = swing_highs_lows(ohlc, params.swing_length)
    pivots = swings["level"].to_numpy(np.float64)
    layers = IctLayers(
        swings=_swing_marks(swings, axis, price, offset),
        breaks=_break_lines(market_structure(ohlc, params.swing_length), pivots, axis, price),
        fvgs=_fvg_boxes(fvg(ohlc), axis, price),
        order_blocks=_order_block_boxes(
            order_blocks(ohlc, params.swing_length, params.displacement_k, params.atr_period),
            axis,
            price,
        ),
    )
    day = FOREX_DAY if params.trading_day == "forex" else UTC_DAY
    equal = equal_highs_lows(ohlc, swings, atr(ohlc, params.atr_period), params.equal_tolerance_atr)
    levels = liquidity_levels(swings, equal, previous_levels(ohlc, KILLZONES, day))
    layers.levels = _level_segments(levels, equal, high, low, axis, price)
    layers.sweeps = _sweep_marks(sweeps(ohlc, levels), high, low, axis, price, offset)
    layers.killzones = _killzone_bands(killzone(ohlc), axis, window.timeframe_ms)
    return layers


def _swing_marks(swings: pd.DataFrame, axis: Axis, price: Price, offset: float) -> list[Mark]:
    side = np.nan_to_num(swings["swing"].to_numpy(np.float64)).astype(np.int64)
    level = swings["level"].to_numpy(np.float64)
    confirmed = swings["confirmed"].to_numpy(np.int64)
    marks = []
    for i in np.flatnonzero(side[axis.start :]) + axis.start:
        s = int(side[i])
        marks.append(
            Mark(
                s,
                axis.mid(i),
                level[i] + s * 0.3 * offset,
                f"<b>swing {'high' if s == BULLISH else 'low'}</b> {price(level[i])}<br>"
                f"pivot {axis.time(i)} · confirmed {axis.time(int(confirmed[i]))}",
            )
        )
    return marks


def _break_lines(
    structure: pd.DataFrame, level: FloatArray, axis: Axis, price: Price
) -> list[BreakLine]:
    """Breaks of structure and changes of character, from the swing `level`s they broke."""
    broken = structure["broken_swing"].to_numpy(np.int64)
    choch = ~np.isnan(structure["choch"].to_numpy(np.float64))
    sides = np.fmax(structure["bos"].to_numpy(np.float64), structure["choch"].to_numpy(np.float64))
    lines = []
    for t in np.flatnonzero(broken[axis.start :] >= 0) + axis.start:
        s, pivot = int(sides[t]), int(broken[t])
        kind = "CHoCH" if choch[t] else "BOS"
        x0, x1 = axis.mid(pivot), axis.mid(t)
        lines.append(
            BreakLine(
                s,
                bool(choch[t]),
                x0,
                x1,
                level[pivot],
                kind if x1 - x0 >= axis.label_span(BREAK_LABEL_MIN_CANDLES) else "",
                f"<b>{'bullish' if s == BULLISH else 'bearish'} {kind}</b>: closed "
                f"{'above' if s == BULLISH else 'below'} the swing "
                f"{'high' if s == BULLISH else 'low'} {price(level[pivot])}<br>"
                f"pivot {axis.time(pivot)} · broken {axis.time(t)}",
            )
        )
    return lines


def _fvg_boxes(gaps: pd.DataFrame, axis: Axis, price: Price) -> list[Box]:
    gap_side = np.nan_to_num(gaps["fvg"].to_numpy(np.float64)).astype(np.int64)
    top, bottom = gaps["top"].to_numpy(np.float64), gaps["bottom"].to_numpy(np.float64)
    mitigated = gaps["mitigated"].to_numpy(np.int64)
    boxes = []
    for i in np.flatnonzero(gap_side & _open_at(mitigated, axis.start)):
        s, m = int(gap_side[i]), int(mitigated[i])
        boxes.append(
            Box(
                s,
                axis.open(i - 1),  # the middle candle, which the gap sits beside
                axis.close(m),
                bottom[i],
                top[i],
                f"<b>{_side_word(s)} FVG</b> {price(bottom[i])}–{price(top[i])}<br>"
                f"formed {axis.time(i)} · "
                + (f"mitigated {axis.time(m)}" if m != NO_BAR else "open"),
            )
        )
    return boxes


def _order_block_boxes(blocks: pd.DataFrame, axis: Axis, price: Price) -> list[Box]:
    block_side = np.nan_to_num(blocks["ob"].to_numpy(np.float64)).astype(np.int64)
    known = blocks["known"].to_numpy(np.int64)
    touched = blocks["mitigated"].to_numpy(np.int64)
    invalid = blocks["invalidated"].to_numpy(np.int64)
    top, bottom = blocks["top"].to_numpy(np.float64), blocks["bottom"].to_numpy(np.float64)
    boxes = []
    for b in np.flatnonzero(block_side & _open_at(invalid, axis.start)):
        s, v, m = int(block_side[b]), int(invalid[b]), int(touched[b])
        boxes.append(
            Box(
                s,
                axis.open(b),
                axis.close(v),
                bottom[b],
                top[b],
                f"<b>{_side_word(s)} order block</b> {price(bottom[b])}–{price(top[b])}<br>"
                f"candle {axis.time(b)} · known {axis.time(int(known[b]))}<br>"
                + (f"mitigated {axis.time(m)}" if m != NO_BAR else "not mitigated")
                + (f" · invalidated {axis.time(v)}" if v != NO_BAR else ""),
            )
        )
    return boxes


def _sweep_marks(
    swept: pd.DataFrame, high: FloatArray, low: FloatArray, axis: Axis, price: Price, offset: float
) -> list[Mark]:
    """One marker per candle and side that swept liquidity, naming all it swept."""
    swept = swept[swept["bar"].to_numpy(np.int64) >= axis.start]
    marks = []
    for (bar, s), rows in swept.groupby(["bar", "side"], sort=True):
        bar, s = int(bar), int(s)
        names = ", ".join(
            f"{_KIND_NAMES.get(kind, kind)} {price(p)}"
            for kind, p in zip(rows["kind"], rows["price"], strict=True)
        )
        marks.append(
            Mark(
                s,
                axis.mid(bar),
                (high[bar] if s == BULLISH else low[bar]) + s * 0.75 * offset,
                f"<b>{'buy' if s == BULLISH else 'sell'}-side liquidity swept</b> "
                f"{axis.time(bar)}<br>{textwrap.fill(names, 60).replace(chr(10), '<br>')}<br>"
                f"closed back {'below' if s == BULLISH else 'above'}",
            )
        )
    return marks


def _killzone_bands(zone: pd.Series[Any], axis: Axis, timeframe_ms: int) -> list[Band]:
    """Runs of candles in one killzone: a new run where the name changes or candles skip."""
    zones = zone.to_numpy(dtype=object)[axis.start :]
    bands: list[Band] = []
    if not len(zones):
        return bands
    times = axis.times[axis.start :]
    step = np.diff(times) > timeframe_ms
    change = np.flatnonzero((zones[1:] != zones[:-1]) | step) + 1
    for a, b in zip(np.r_[0, change], np.r_[change, len(zones)], strict=True):
        if zones[a]:
            bands.append(Band(str(zones[a]), times[a] - axis.half, times[b - 1] + axis.half))
    return bands


def _open_at(ended: IntArray, start: int) -> npt.NDArray[np.bool_]:
    """Items still there at the window's first candle: not ended, or ended within the window."""
    open_: npt.NDArray[np.bool_] = (ended == NO_BAR) | (ended >= start)
    return open_


def _side_word(side: int) -> str:
    return "bullish" if side == BULLISH else "bearish"


def _level_segments(
    levels: pd.DataFrame,
    equal: pd.DataFrame,
    high: FloatArray,
    low: FloatArray,
    axis: Axis,
    price: Price,
) -> list[Segment]:
    """Previous-period and equal highs/lows, from when they are known until the first candle
    that trades beyond them (swing levels have their markers). A previous day's (week's,
    session's) line also ends where the next one replaces it: older ones are still liquidity
    to the strategy, but a line labelled PDH should be the previous day's. Equal highs/lows
    known long before the window are left out: they would only stack up at its left edge."""
    segments = []
    first_pivot = equal["first"].to_numpy(np.int64)
    rows = list(levels.itertuples(index=False, name=None))
    replaced: dict[int, int] = {}  # row -> known bar of the next level of its kind
    latest: dict[str, int] = {}
    for row in range(len(rows) - 1, -1, -1):
        kind, known = rows[row][1], int(rows[row][3])
        if kind in latest:
            replaced[row] = latest[kind]
        latest[kind] = known
    oldest_equal = axis.start - HISTORY_CANDLES
    for row, (side, kind, value, known) in enumerate(rows):
        family, label, name = _level_names(kind)
        if family == "swing" or (family == "equal" and known < oldest_equal):
            continue
        side, known = int(side), int(known)
        beyond = high[known:] > value if side == BULLISH else low[known:] < value
        hits = np.flatnonzero(beyond)
        taken = known + int(hits[0]) if len(hits) else NO_BAR
        until = replaced.get(row, NO_BAR)
        if until != NO_BAR and taken != NO_BAR and taken >= until:
            taken = NO_BAR  # replaced first
        if (taken != NO_BAR and taken < axis.start) or (
            taken == NO_BAR and until != NO_BAR and until <= axis.start
        ):
            continue  # gone before the window
        # Equal highs/lows are drawn through the highs (lows) that make them.
        x0 = axis.mid(int(first_pivot[known])) if family == "equal" else axis.open(known)
        x1 = axis.mid(taken) if taken != NO_BAR else axis.close(until - 1 if until > 0 else NO_BAR)
        fate = (
            f"taken {axis.time(taken)}"
            if taken != NO_BAR
            else f"replaced {axis.time(until)}"
            if until != NO_BAR
            else "not taken"
        )
        long_enough = x1 - x0 >= axis.label_span(LABEL_MIN_CANDLES)
        segments.append(
            Segment(
                family,
                side,
                x0,
                x1,
                float(value),
                label if long_enough else "",
                f"<b>{name}</b> {price(value)}<br>known {axis.time(known)} · {fate}",
            )
        )
    return segments


def _level_names(kind: str) -> tuple[str, str, str]:
    """(family, chart label, hover name) of a level kind: prev_day_high -> day, PDH, ..."""
    if kind.startswith("swing_"):
        return "swing", "", _KIND_NAMES[kind]
    if kind.startswith("equal_"):
        return "equal", "EQH" if kind == "equal_highs" else "EQL", _KIND_NAMES[kind]
    period, _, end = kind.removeprefix("prev_").rpartition("_")
    letter = end[0].upper()
    if period in ("day", "week"):
        return period, f"P{period[0].upper()}{letter}", f"previous {period} {end}"
    session = SESSION_LABELS.get(period, period.replace("_", " ").title())
    return "session", f"{session} {letter}", f"previous {session} session {end}"
