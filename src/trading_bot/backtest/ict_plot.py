"""`trading-bot plot`: a candle chart with the ICT structures drawn on it, and a strategy's
setups, as one standalone HTML file (plotly.js inline, nothing fetched when opened).

Traders check ICT by eye, so the chart draws what the indicators know the way a trader would
mark it by hand: swing pivots, fair value gaps and order blocks as boxes until they are
mitigated or invalidated, liquidity (previous day / week / session highs and lows, equal highs
and lows) as dashed lines until price takes it, sweeps, breaks of structure, and the killzones
as shaded bands. With a strategy, each setup: its entry, stop and target, its exit, and the
reason it was taken.

The indicators run on the candles up to the window's end, starting well before it (see
`select_window`), so what was known when the window opens is on the chart; nothing after the
window's end is used for them, so the chart shows what was known by then. The backtest runs a
little past the end, so a trade opened in the window keeps its real exit.

Coordinates: a candle is drawn centred on its open time, so it spans open time ± half a
candle; an instant (a close, a signal) sits on a candle edge, half a candle before the open
time it equals. Times are epoch milliseconds on a date axis, shown as UTC.
"""

from __future__ import annotations

import json
import textwrap
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from html import escape
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import plotly.graph_objects as go

from trading_bot.backtest.report import _PLOT_CONFIG, _STYLE
from trading_bot.backtest.runner import run_backtest
from trading_bot.backtest.summary import duration, format_pnl, short_time
from trading_bot.core.clock import ms_to_datetime
from trading_bot.core.model import Direction, Position, Signal, Trade
from trading_bot.core.settings import PipelineSettings
from trading_bot.data.files import infer_timeframe_ms, iter_candles
from trading_bot.data.instruments import price_decimals as data_decimals
from trading_bot.data.timeframes import format_timeframe
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
from trading_bot.strategies.registry import build_strategy, load_strategy_class, parse_params

MAX_CANDLES = 3_000
"""Candles a chart shows at most: past this, candles are thinner than a pixel on a desktop."""
HISTORY_CANDLES = 500
HISTORY_MS = 14 * 86_400_000
"""The indicators start this far before the window (the longer of the two), so the structures
known when it opens show, with the previous week's high and low among them."""
AFTER_CANDLES = 500
"""Candles past the window's end the backtest runs on, so a trade opened in the window exits
as it would have rather than at the chart's edge."""

LABEL_MIN_CANDLES = 4
BREAK_LABEL_MIN_CANDLES = 2
"""Level lines (structure breaks) shorter than this many candles, or than a sixtieth of the
window, go unlabelled, their hover still names them: their labels would crowd the candles."""

ProgressCallback = Callable[[int, int], None]
FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

BULLISH, BEARISH = 1, -1
NO_BAR = -1


class PlotError(ValueError):
    """A window or a time the user asked for that cannot be drawn; the message says why."""


def _time_text(ms: int) -> str:
    """`2023-01-05T14:30`, or `2023-01-05` at midnight: a time as the options take it."""
    text = ms_to_datetime(ms).strftime("%Y-%m-%dT%H:%M")
    return text.removesuffix("T00:00")


@dataclass(frozen=True, slots=True)
class PlotWindow:
    """The candles [`first`, `stop`) of `frame` are drawn; the indicators run on [`begin`,
    `stop`), the backtest on [`begin`, `after`)."""

    frame: pd.DataFrame
    begin: int
    first: int
    stop: int
    after: int
    timeframe_ms: int

    @property
    def ohlc(self) -> pd.DataFrame:
        """The candles the indicators see: history, then the window."""
        return self.frame.iloc[self.begin : self.stop]

    @property
    def backtest_frame(self) -> pd.DataFrame:
        return self.frame.iloc[self.begin : self.after]

    @property
    def start(self) -> int:
        """The window's first candle, as a position in `ohlc`."""
        return self.first - self.begin

    @property
    def candles(self) -> int:
        return self.stop - self.first

    @property
    def half(self) -> float:
        return self.timeframe_ms / 2


def select_window(
    frame: pd.DataFrame,
    start_ms: int,
    end_ms: int,
    max_candles: int = MAX_CANDLES,
    history_candles: int = HISTORY_CANDLES,
    history_ms: int = HISTORY_MS,
) -> PlotWindow:
    """The candles opening in [start, end), with the history the indicators need before them."""
    if end_ms <= start_ms:
        raise PlotError(
            f"--end {_time_text(end_ms)} is not after --start {_time_text(start_ms)}: the chart "
            "shows [start, end)"
        )
    times = _open_times(frame)
    first = int(np.searchsorted(times, start_ms, side="left"))
    stop = int(np.searchsorted(times, end_ms, side="left"))
    if stop <= first:
        covers = (
            f"the data covers {_time_text(int(times[0]))} to {_time_text(int(times[-1]))}"
            if len(times)
            else "the data has no candles"
        )
        raise PlotError(f"no candles from {_time_text(start_ms)} to {_time_text(end_ms)}: {covers}")
    if stop - first > max_candles:
        narrower = _time_text(int(times[first + max_candles]))
        raise PlotError(
            f"{stop - first:,} candles from {_time_text(start_ms)} to {_time_text(end_ms)}, "
            f"more than the {max_candles:,} a chart shows readably: narrow the range, for "
            f"example --end {narrower}"
        )
    begin = min(
        max(first - history_candles, 0),
        int(np.searchsorted(times, start_ms - history_ms, side="left")),
    )
    timeframe = infer_timeframe_ms(frame.iloc[begin:stop] if stop - begin >= 2 else frame)
    after = min(stop + AFTER_CANDLES, len(frame))
    return PlotWindow(frame, begin, first, stop, after, timeframe)


def _open_times(frame: pd.DataFrame) -> IntArray:
    return pd.DatetimeIndex(frame.index).to_numpy(dtype="datetime64[ms]").astype(np.int64)


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


# --- The structures -------------------------------------------------------------------------


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


LEVEL_FAMILIES = {
    # family: (legend name, colour, dash)
    "day": ("Prev. day H/L", "#7c3aed", "dash"),
    "week": ("Prev. week H/L", "#be185d", "dash"),
    "session": ("Prev. session H/L", "#64748b", "dash"),
    "equal": ("Equal H/L", "#b45309", "dash"),
}
_SESSION_LABELS = {"asia": "Asia", "london": "London", "ny_am": "NY AM", "ny_pm": "NY PM"}
KILLZONE_STYLE = {
    # name: (legend name, band colour, label colour)
    "asia": ("Asia KZ", "rgba(100, 116, 139, 0.10)", "#475569"),
    "london": ("London KZ", "rgba(59, 130, 246, 0.10)", "#1d4ed8"),
    "ny_am": ("NY AM KZ", "rgba(249, 115, 22, 0.10)", "#c2410c"),
    "ny_pm": ("NY PM KZ", "rgba(234, 179, 8, 0.13)", "#a16207"),
}
_KIND_NAMES = {
    "swing_high": "swing high",
    "swing_low": "swing low",
    "equal_highs": "equal highs",
    "equal_lows": "equal lows",
}


class _Axis:
    """Bar positions of the indicator frame to chart x, clipped to the window."""

    def __init__(self, window: PlotWindow) -> None:
        self.times = _open_times(window.ohlc).astype(np.float64)
        self.half = window.half
        self.start = window.start
        self.left = float(self.times[self.start]) - self.half
        self.right = float(self.times[-1]) + self.half
        self.candles = window.candles

    def label_span(self, candles: int) -> float:
        """The shortest line that gets a label: `candles` long, longer in a crowded window."""
        return max(candles, self.candles // 60) * 2 * self.half

    def open(self, bar: int) -> float:
        """The left edge of a candle, clipped to the window."""
        return max(float(self.times[bar]) - self.half, self.left)

    def mid(self, bar: int) -> float:
        return max(float(self.times[bar]), self.left)

    def close(self, bar: int) -> float:
        """The right edge of a candle; the window's end for NO_BAR (not yet)."""
        return self.right if bar == NO_BAR else float(self.times[bar]) + self.half

    def time(self, bar: int) -> str:
        return short_time(int(self.times[bar]))


def ict_layers(window: PlotWindow, params: IctParams) -> IctLayers:
    """The structures of `window` from the batch indicators, with the strategy's settings."""
    ohlc = window.ohlc
    axis = _Axis(window)
    price = _price_format(window.frame)
    high, low = ohlc["high"].to_numpy(np.float64), ohlc["low"].to_numpy(np.float64)
    start = window.start
    # Markers sit a little beyond the wick they mark, in proportion to the candles' size.
    offset = float(np.median(high[start:] - low[start:])) or float(np.mean(high[start:]) * 1e-4)
    layers = IctLayers()

    swings = swing_highs_lows(ohlc, params.swing_length)
    side = np.nan_to_num(swings["swing"].to_numpy(np.float64)).astype(np.int64)
    level = swings["level"].to_numpy(np.float64)
    confirmed = swings["confirmed"].to_numpy(np.int64)
    for i in np.flatnonzero(side[start:]) + start:
        s = int(side[i])
        layers.swings.append(
            Mark(
                s,
                axis.mid(i),
                level[i] + s * 0.3 * offset,
                f"<b>swing {'high' if s == BULLISH else 'low'}</b> {price(level[i])}<br>"
                f"pivot {axis.time(i)} · confirmed {axis.time(int(confirmed[i]))}",
            )
        )

    structure = market_structure(ohlc, params.swing_length)
    broken = structure["broken_swing"].to_numpy(np.int64)
    choch = ~np.isnan(structure["choch"].to_numpy(np.float64))
    sides = np.fmax(structure["bos"].to_numpy(np.float64), structure["choch"].to_numpy(np.float64))
    for t in np.flatnonzero(broken[start:] >= 0) + start:
        s, pivot = int(sides[t]), int(broken[t])
        kind = "CHoCH" if choch[t] else "BOS"
        x0, x1 = axis.mid(pivot), axis.mid(t)
        layers.breaks.append(
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

    gaps = fvg(ohlc)
    gap_side = np.nan_to_num(gaps["fvg"].to_numpy(np.float64)).astype(np.int64)
    top, bottom = gaps["top"].to_numpy(np.float64), gaps["bottom"].to_numpy(np.float64)
    mitigated = gaps["mitigated"].to_numpy(np.int64)
    for i in np.flatnonzero(gap_side & _open_at(mitigated, start)):
        s, m = int(gap_side[i]), int(mitigated[i])
        layers.fvgs.append(
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

    blocks = order_blocks(ohlc, params.swing_length, params.displacement_k, params.atr_period)
    block_side = np.nan_to_num(blocks["ob"].to_numpy(np.float64)).astype(np.int64)
    known = blocks["known"].to_numpy(np.int64)
    touched = blocks["mitigated"].to_numpy(np.int64)
    invalid = blocks["invalidated"].to_numpy(np.int64)
    top, bottom = blocks["top"].to_numpy(np.float64), blocks["bottom"].to_numpy(np.float64)
    for b in np.flatnonzero(block_side & _open_at(invalid, start)):
        s, v, m = int(block_side[b]), int(invalid[b]), int(touched[b])
        layers.order_blocks.append(
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

    day = FOREX_DAY if params.trading_day == "forex" else UTC_DAY
    equal = equal_highs_lows(ohlc, swings, atr(ohlc, params.atr_period), params.equal_tolerance_atr)
    levels = liquidity_levels(swings, equal, previous_levels(ohlc, KILLZONES, day))
    layers.levels = _level_segments(levels, equal, high, low, axis, price)

    swept = sweeps(ohlc, levels)
    swept = swept[swept["bar"].to_numpy(np.int64) >= start]
    for (bar, s), rows in swept.groupby(["bar", "side"], sort=True):
        bar, s = int(bar), int(s)
        names = ", ".join(
            f"{_KIND_NAMES.get(kind, kind)} {price(p)}"
            for kind, p in zip(rows["kind"], rows["price"], strict=True)
        )
        layers.sweeps.append(
            Mark(
                s,
                axis.mid(bar),
                (high[bar] if s == BULLISH else low[bar]) + s * 0.75 * offset,
                f"<b>{'buy' if s == BULLISH else 'sell'}-side liquidity swept</b> "
                f"{axis.time(bar)}<br>{textwrap.fill(names, 60).replace(chr(10), '<br>')}<br>"
                f"closed back {'below' if s == BULLISH else 'above'}",
            )
        )

    zones = killzone(ohlc).to_numpy(dtype=object)[start:]
    if len(zones):
        # Runs of candles in one killzone: a new run where the name changes or candles skip.
        times = axis.times[start:]
        step = np.diff(times) > window.timeframe_ms
        change = np.flatnonzero((zones[1:] != zones[:-1]) | step) + 1
        for a, b in zip(np.r_[0, change], np.r_[change, len(zones)], strict=True):
            if zones[a]:
                layers.killzones.append(
                    Band(str(zones[a]), times[a] - axis.half, times[b - 1] + axis.half)
                )
    return layers


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
    axis: _Axis,
    price: Callable[[float], str],
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
    session = _SESSION_LABELS.get(period, period.replace("_", " ").title())
    return "session", f"{session} {letter}", f"previous {session} session {end}"


def _price_format(frame: pd.DataFrame) -> Callable[[float], str]:
    decimals = data_decimals(frame)

    def price(value: float) -> str:
        return f"{value:.{decimals}f}"

    return price


# --- The strategy ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Setup:
    """A strategy's entry signal and what became of it: the `trade` it opened, or an
    `outcome` such as "not filled by expiry". `signal` is None for a trade no signal explains
    (a strategy that is not flat-to-flat)."""

    signal: Signal | None
    trade: Trade | None
    outcome: str

    @property
    def time(self) -> int:
        if self.signal is not None:
            return self.signal.time
        assert self.trade is not None
        return self.trade.entry_time


@dataclass(frozen=True, slots=True)
class StrategyRun:
    """The strategy's setups touching the window, in time order."""

    setups: list[Setup]

    @property
    def trades(self) -> list[Trade]:
        return [setup.trade for setup in self.setups if setup.trade is not None]


class _TradeBook:
    """The positions the backtest held, as a portfolio view, so that replaying the strategy
    gives the signals it gave in the backtest (a strategy may ask whether it holds a
    position). Fills happen before the strategy sees a candle, so a position opened on a
    candle is held at its close, and one closed on it is not."""

    def __init__(self, trades: Sequence[Trade], symbol: str, equity: float) -> None:
        self.symbol = symbol
        self.now = 0
        self._equity = equity
        spans = sorted((t.entry_time, t.exit_time, t.side) for t in trades)
        self._entries = [span[0] for span in spans]
        self._spans = spans

    @property
    def equity(self) -> float:
        return self._equity

    def position(self, symbol: str) -> Position | None:
        k = bisect_right(self._entries, self.now)
        if k == 0:
            return None
        entry = self._entries[k - 1]  # the parts of one position share their entry
        for _, exit_, side in self._spans[bisect_left(self._entries, entry) : k]:
            if exit_ > self.now:
                qty = Decimal(1) if side is Direction.LONG else Decimal(-1)
                return Position(symbol, qty, opened_time=entry)
        return None

    def open_position_count(self) -> int:
        return 0 if self.position(self.symbol) is None else 1


def run_strategy(
    window: PlotWindow,
    settings: PipelineSettings,
    symbol: str,
    progress: ProgressCallback | None = None,
) -> StrategyRun:
    """Backtest `settings.strategy` from the history into the window (and a little past it,
    see AFTER_CANDLES) and pair each trade with the signal that opened it."""
    frame = window.backtest_frame
    result = run_backtest(frame, settings, symbol, progress)
    book = _TradeBook(result.trades, symbol, result.start_equity)
    strategy = build_strategy(
        settings.strategy.name, settings.strategy.params, symbol, window.timeframe_ms
    )
    strategy.portfolio = book
    signals: list[Signal] = []
    for candle in iter_candles(frame, symbol, window.timeframe_ms):
        book.now = candle.open_time
        signal = strategy.on_candle(candle)
        if signal is not None:
            signals.append(signal)
    times = _open_times(window.frame)
    left = int(times[window.first])
    right = int(times[window.stop - 1]) + window.timeframe_ms  # the window's last close
    setups = [
        setup
        for setup in _pair(signals, result.trades)
        if setup.time <= right and (setup.trade.exit_time if setup.trade else setup.time) >= left
    ]
    return StrategyRun(sorted(setups, key=lambda setup: setup.time))


def _pair(signals: Sequence[Signal], trades: Sequence[Trade]) -> list[Setup]:
    """Each trade with the latest signal its way at or before its entry (a newer signal
    replaces an entry that has not filled); entry signals no trade took, with why."""
    entries = [s for s in signals if s.direction is not Direction.FLAT]
    flats = [s.time for s in signals if s.direction is Direction.FLAT]
    used: dict[int, Signal] = {}  # by entry time: the parts of one position share a signal
    setups = []
    for trade in sorted(trades, key=lambda t: t.entry_time):
        signal = used.get(trade.entry_time)
        if signal is None:
            signal = next(
                (
                    s
                    for s in reversed(entries)
                    if s.direction is trade.side
                    and s.time <= trade.entry_time
                    and all(s is not u for u in used.values())
                ),
                None,
            )
            if signal is not None:
                used[trade.entry_time] = signal
        setups.append(Setup(signal, trade, trade.exit_reason))
    taken = {id(signal) for signal in used.values()}
    for signal in entries:
        if id(signal) in taken:
            continue
        until = signal.expires if signal.expires is not None else signal.time
        later = [s for s in entries if s.time > signal.time]
        if any(signal.time < t <= until for t in flats):
            outcome = "canceled: closed beyond the stop before the entry"
        elif later and later[0].time <= until:
            outcome = "replaced by a newer signal"
        elif signal.expires is not None:
            outcome = "not filled by expiry"
        else:
            outcome = "not filled"
        setups.append(Setup(signal, None, outcome))
    return setups


# --- The figure -----------------------------------------------------------------------------

_CANDLE_UP = "#ffffff"
_CANDLE_DOWN = "#475569"
_CANDLE_LINE = "#334155"
_GREEN, _RED = "#16a34a", "#dc2626"
_BOXES = {
    # (layer, side): (name, fill, line)
    ("fvg", BULLISH): ("Bull FVG", "rgba(22, 163, 74, 0.16)", "rgba(22, 163, 74, 0.55)"),
    ("fvg", BEARISH): ("Bear FVG", "rgba(220, 38, 38, 0.14)", "rgba(220, 38, 38, 0.5)"),
    ("ob", BULLISH): ("Bull OB", "rgba(37, 99, 235, 0.14)", "rgba(37, 99, 235, 0.6)"),
    ("ob", BEARISH): ("Bear OB", "rgba(234, 88, 12, 0.14)", "rgba(234, 88, 12, 0.6)"),
}
_HOVER = "%{text}<extra></extra>"


def ict_figure(window: PlotWindow, layers: IctLayers, run: StrategyRun | None = None) -> go.Figure:
    """The chart: candles, each layer of `layers` (and `run`'s setups) as a legend entry of its
    own that hides or shows it. Traces are added bottom to top; `legendrank` orders the legend."""
    figure = go.Figure()
    ohlc = window.ohlc.iloc[window.start :]
    times = _open_times(ohlc).astype(np.float64)
    price = _price_format(window.frame)
    zones = killzone(ohlc).to_numpy(dtype=object)

    for (layer, side), (name, fill, line) in _BOXES.items():
        boxes = layers.fvgs if layer == "fvg" else layers.order_blocks
        group = f"{layer}-{'bull' if side == BULLISH else 'bear'}"
        figure.add_trace(_boxes(name, group, [b for b in boxes if b.side == side], fill, line))
    for family, (name, colour, dash) in LEVEL_FAMILIES.items():
        segments = [s for s in layers.levels if s.family == family]
        figure.add_traces(_segments(name, f"level-{family}", segments, colour, dash, 1.2))
    figure.add_trace(
        go.Candlestick(
            x=times,
            open=ohlc["open"].to_numpy(np.float64),
            high=ohlc["high"].to_numpy(np.float64),
            low=ohlc["low"].to_numpy(np.float64),
            close=ohlc["close"].to_numpy(np.float64),
            name="Candles",
            legendrank=1,
            increasing={"fillcolor": _CANDLE_UP, "line": {"color": _CANDLE_LINE, "width": 1}},
            decreasing={"fillcolor": _CANDLE_DOWN, "line": {"color": _CANDLE_LINE, "width": 1}},
            whiskerwidth=0,
            text=[f"<br>{_KILLZONE_NAMES.get(zone, zone)}" if zone else "" for zone in zones],
            hovertemplate=(
                "%{x|%Y-%m-%d %H:%M} UTC<br>O %{open}<br>H %{high}<br>L %{low}<br>C %{close}"
                "%{text}<extra></extra>"
            ),
        )
    )
    figure.add_traces(_breaks(layers.breaks))
    figure.add_trace(_swing_markers(layers.swings))
    figure.add_trace(
        _marks(
            "Sweeps",
            "sweeps",
            layers.sweeps,
            {"symbol": "star", "size": 9, "color": "#f59e0b", "line": {"width": 0.8}},
            30,
        )
    )
    if run is not None:
        figure.add_traces(_setup_traces(run, window, price))
    _killzone_bands(figure, layers.killzones, window)
    _layout(figure, window, times, _price_range(ohlc, run))
    return figure


def _price_range(ohlc: pd.DataFrame, run: StrategyRun | None) -> tuple[float, float]:
    """The window's candles, and the stops and targets of its setups, with a margin: zones
    and levels far away (an old gap that never filled) are off the chart rather than
    squeezing the candles into a strip; panning up or down shows them."""
    low, high = float(ohlc["low"].min()), float(ohlc["high"].max())
    for setup in run.setups if run is not None else ():
        signal = setup.signal
        for value in (signal.stop_loss, signal.take_profit) if signal is not None else ():
            if value is not None:
                low, high = min(low, value), max(high, value)
    pad = (high - low) * 0.06 or high * 1e-3
    return low - pad, high + pad


_KILLZONE_NAMES = {name: f"{label} killzone" for name, label in _SESSION_LABELS.items()}
_RANKS = {
    "fvg-bull": 10,
    "fvg-bear": 10.5,
    "ob-bull": 11,
    "ob-bear": 11.5,
    "level-day": 20,
    "level-week": 21,
    "level-session": 22,
    "level-equal": 23,
    "structure": 3,
    "swings": 2,
    "sweeps": 30,
}


def _boxes(name: str, group: str, boxes: Sequence[Box], fill: str, line: str) -> go.Scatter:
    """Boxes as one filled trace of closed outlines (one per box, apart), hovered at corners."""
    x: list[float | None] = []
    y: list[float | None] = []
    text: list[str | None] = []
    for box in boxes:
        x += [box.x0, box.x1, box.x1, box.x0, box.x0, None]
        y += [box.bottom, box.bottom, box.top, box.top, box.bottom, None]
        text += [box.text] * 5 + [None]
    return go.Scatter(
        x=x,
        y=y,
        text=text,
        name=name,
        legendgroup=group,
        legendrank=_RANKS[group],
        mode="lines",
        fill="toself",
        fillcolor=fill,
        line={"width": 0.8, "color": line},
        hoveron="points",
        hovertemplate=_HOVER,
        meta={"layer": group, "count": len(boxes)},
    )


def _segments(
    name: str, group: str, segments: Sequence[Segment], colour: str, dash: str, width: float
) -> list[go.Scatter]:
    """Horizontal lines as one trace, and their labels (at the right end, which is where price
    took the level, or the chart's edge) as another in the same legend group."""
    x: list[float | None] = []
    y: list[float | None] = []
    text: list[str | None] = []
    for s in segments:
        x += [s.x0, s.x1, None]
        y += [s.y, s.y, None]
        text += [s.text, s.text, None]
    lines = go.Scatter(
        x=x,
        y=y,
        text=text,
        name=name,
        legendgroup=group,
        legendrank=_RANKS.get(group, 40),
        mode="lines",
        line={"width": width, "color": colour, "dash": dash},
        hovertemplate=_HOVER,
        meta={"layer": group, "count": len(segments)},
    )
    labels = go.Scatter(
        x=[s.x1 for s in segments],
        y=[s.y for s in segments],
        text=[s.label for s in segments],
        hovertext=[s.text for s in segments],
        textposition=["top left" if s.side == BULLISH else "bottom left" for s in segments],
        textfont={"size": 10, "color": colour},
        name=name,
        legendgroup=group,
        showlegend=False,
        mode="text",
        hovertemplate="%{hovertext}<extra></extra>",
        meta={"layer": f"{group}-labels"},
    )
    return [lines, labels]


def _breaks(breaks: Sequence[BreakLine]) -> list[go.Scatter]:
    x: list[float | None] = []
    y: list[float | None] = []
    text: list[str | None] = []
    for b in breaks:
        x += [b.x0, b.x1, None]
        y += [b.y, b.y, None]
        text += [b.text, b.text, None]
    lines = go.Scatter(
        x=x,
        y=y,
        text=text,
        name="BOS / CHoCH",
        legendgroup="structure",
        legendrank=_RANKS["structure"],
        mode="lines",
        line={"width": 1, "color": "#1f2937", "dash": "dot"},
        hovertemplate=_HOVER,
        meta={"layer": "structure", "count": len(breaks)},
    )
    labels = go.Scatter(
        x=[(b.x0 + b.x1) / 2 for b in breaks],
        y=[b.y for b in breaks],
        text=[b.label for b in breaks],
        hovertext=[b.text for b in breaks],
        textposition=["top center" if b.side == BULLISH else "bottom center" for b in breaks],
        textfont={
            "size": 9,
            "color": [_GREEN if b.side == BULLISH else _RED for b in breaks],
        },
        legendgroup="structure",
        showlegend=False,
        mode="text",
        hovertemplate="%{hovertext}<extra></extra>",
        meta={"layer": "structure-labels"},
    )
    return [lines, labels]


def _swing_markers(swings: Sequence[Mark]) -> go.Scatter:
    return _marks(
        "Swings",
        "swings",
        swings,
        {
            "symbol": ["triangle-down" if m.side == BULLISH else "triangle-up" for m in swings],
            "size": 7,
            "color": "#64748b",
        },
        _RANKS["swings"],
    )


def _marks(
    name: str, group: str, marks: Sequence[Mark], marker: dict[str, Any], rank: float
) -> go.Scatter:
    return go.Scatter(
        x=[m.x for m in marks],
        y=[m.y for m in marks],
        text=[m.text for m in marks],
        name=name,
        legendgroup=group,
        legendrank=rank,
        mode="markers",
        marker=marker,
        hovertemplate=_HOVER,
        meta={"layer": group, "count": len(marks)},
    )


def _setup_traces(run: StrategyRun, window: PlotWindow, price: Callable[[float], str]) -> list[Any]:
    """Per trade: the stop and target from the signal to the exit, the entry and the exit; per
    setup that did not fill, a hollow marker at its entry price."""
    half = window.half
    times = _open_times(window.ohlc)
    left, right = float(times[window.start]) - half, float(times[-1]) + half

    def clip(x: float) -> float:
        return min(max(x, left), right)

    def inside(x: float) -> bool:
        return left <= x <= right

    levels: dict[str, list[Segment]] = {"stop": [], "target": [], "entry": []}
    entries: dict[Direction, list[Mark]] = {Direction.LONG: [], Direction.SHORT: []}
    exits: list[Mark] = []
    unfilled: list[Mark] = []
    for setup in run.setups:
        signal, trade = setup.signal, setup.trade
        text = _setup_text(setup, price)
        if trade is None:
            assert signal is not None
            at = signal.entry if signal.entry is not None else signal.price
            if inside(signal.time - half):
                unfilled.append(Mark(0, signal.time - half, at, text))
            continue
        # Lines start at the signal (the close of its candle) and end at the exit candle.
        x0 = clip(signal.time - half if signal is not None else float(trade.entry_time))
        x1 = clip(float(trade.exit_time))
        if x1 > x0:
            entry = float(trade.entry_price)
            planned = [("entry", "entry", signal.entry if signal else None)]
            planned += [("stop", "SL", signal.stop_loss if signal else None)]
            planned += [("target", "TP", signal.take_profit if signal else None)]
            for key, label, value in planned:
                y = entry if key == "entry" and value is None else value
                if y is not None:
                    levels[key].append(Segment(key, 0, x0, x1, y, label, text))
        if inside(float(trade.entry_time)):
            entries[trade.side].append(
                Mark(0, float(trade.entry_time), float(trade.entry_price), text)
            )
        if inside(float(trade.exit_time)):
            exits.append(Mark(0, float(trade.exit_time), float(trade.exit_price), text))
    traces: list[Any] = []
    for key, name, colour, dash, width in (
        ("stop", "Stops", _RED, "solid", 1.6),
        ("target", "Targets", _GREEN, "solid", 1.6),
        ("entry", "Entry levels", "#1f2937", "dot", 1.0),
    ):
        lines, labels = _segments(name, f"trade-{key}", levels[key], colour, dash, width)
        lines.legendrank = {"stop": 52, "target": 53, "entry": 54}[key]
        if key != "entry":
            labels.textposition = "top left"
            labels.textfont = {"size": 10, "color": colour}
        else:
            labels.mode = "none"
        traces += [lines, labels]
    for direction, symbol, colour in (
        (Direction.LONG, "triangle-up", _GREEN),
        (Direction.SHORT, "triangle-down", _RED),
    ):
        traces.append(
            _marks(
                f"{direction.value.capitalize()} entries",
                f"trade-{direction.value}",
                entries[direction],
                {
                    "symbol": symbol,
                    "size": 13,
                    "color": colour,
                    "line": {"width": 1, "color": "#111827"},
                },
                50 if direction is Direction.LONG else 50.5,
            )
        )
    traces.append(
        _marks(
            "Exits",
            "trade-exit",
            exits,
            {"symbol": "x", "size": 10, "color": "#111827", "line": {"width": 1, "color": "#fff"}},
            51,
        )
    )
    traces.append(
        _marks(
            "Unfilled setups",
            "trade-unfilled",
            unfilled,
            {"symbol": "circle-open", "size": 10, "color": "#6b7280", "line": {"width": 2}},
            55,
        )
    )
    return traces


def _setup_text(setup: Setup, price: Callable[[float], str]) -> str:
    signal, trade = setup.signal, setup.trade
    lines = []
    if trade is not None:
        held = duration(trade.exit_time - trade.entry_time)
        lines.append(
            f"<b>{trade.side.value}</b> · {escape(setup.outcome)} · {format_pnl(trade.pnl)}"
        )
        lines.append(
            f"entry {price(float(trade.entry_price))} {short_time(trade.entry_time)} → exit "
            f"{price(float(trade.exit_price))} {short_time(trade.exit_time)} ({held})"
        )
    elif signal is not None:
        lines.append(f"<b>{signal.direction.value} setup</b> · {escape(setup.outcome)}")
    if signal is not None:
        planned = [
            f"{name} {price(value)}"
            for name, value in (
                ("limit", signal.entry),
                ("stop", signal.stop_loss),
                ("target", signal.take_profit),
            )
            if value is not None
        ]
        lines.append(f"signal {short_time(signal.time)}" + (": " if planned else ""))
        lines[-1] += " · ".join(planned)
        if signal.reason:
            lines += [escape(part) for part in textwrap.wrap(signal.reason, 64)]
    return "<br>".join(lines)


def _killzone_bands(figure: go.Figure, bands: Sequence[Band], window: PlotWindow) -> None:
    """Killzones as shaded full-height bands behind the candles, one legend entry per zone; a
    label on each band while the chart spans a week or less (more would crowd)."""
    label = window.candles * window.timeframe_ms <= 7 * 86_400_000
    seen: set[str] = set()
    for band in bands:
        name, colour, text_colour = KILLZONE_STYLE.get(
            band.name, (band.name, "rgba(148, 163, 184, 0.12)", "#475569")
        )
        figure.add_shape(
            type="rect",
            xref="x",
            yref="paper",
            x0=_date(band.x0),
            x1=_date(band.x1),
            y0=0,
            y1=1,
            fillcolor=colour,
            line={"width": 0},
            layer="below",
            name=name,
            legendgroup=f"killzone-{band.name}",
            showlegend=band.name not in seen,
            legendrank=40 + list(KILLZONE_STYLE).index(band.name) / 10
            if band.name in KILLZONE_STYLE
            else 41,
            label={
                "text": _SESSION_LABELS.get(band.name, band.name) if label else "",
                "textposition": "top center",
                "font": {"size": 10, "color": text_colour},
            },
        )
        seen.add(band.name)


def _date(ms: float) -> str:
    """An instant as plotly's date string (UTC, no zone: plotly.js reads no zones)."""
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


def _layout(
    figure: go.Figure, window: PlotWindow, times: FloatArray, prices: tuple[float, float]
) -> None:
    half = window.half
    figure.update_xaxes(
        type="date",
        range=[_date(times[0] - half), _date(times[-1] + half)],
        rangeslider={"visible": False},
        rangebreaks=_gaps(times, window.timeframe_ms),
        hoverformat="%Y-%m-%d %H:%M",
        showspikes=True,
        spikemode="across",
        spikesnap="cursor",
        spikethickness=1,
        spikecolor="#9ca3af",
        spikedash="dot",
        showgrid=True,
        gridcolor="#f1f5f9",
    )
    figure.update_yaxes(
        range=list(prices),
        side="right",
        showspikes=True,
        spikemode="across",
        spikesnap="cursor",
        spikethickness=1,
        spikecolor="#9ca3af",
        spikedash="dot",
        gridcolor="#f1f5f9",
        automargin=True,
    )
    figure.update_layout(
        template="plotly_white",
        hovermode="closest",
        dragmode="pan",
        hoverlabel={"font": {"size": 12}, "align": "left"},
        legend={
            "orientation": "h",
            "yanchor": "bottom",
            "y": 1.01,
            "x": 0,
            "itemsizing": "constant",
            "font": {"size": 11},
            "groupclick": "togglegroup",
        },
        margin={"l": 8, "r": 8, "t": 8, "b": 8},
    )


def _gaps(times: FloatArray, timeframe_ms: int) -> list[dict[str, Any]]:
    """Axis breaks over the long gaps in the data (forex weekends, outages), so candles stay
    side by side; short gaps stay, since a missing candle or two is worth seeing."""
    steps = np.diff(times)
    gaps = np.flatnonzero(steps > max(6 * timeframe_ms, 3_600_000))
    half = timeframe_ms / 2
    return [
        {"bounds": [_date(times[i] + half), _date(times[i + 1] - half)]}
        for i in gaps[np.argsort(steps[gaps])[::-1][:50]]
    ]


# --- The page -------------------------------------------------------------------------------

_PAGE_STYLE = """
.plotly-graph-div { min-height: 460px; }
p.legend-hint { margin: 0.2rem 0 0.6rem; }
table.trades td.why { white-space: normal; min-width: 18rem; text-align: left; }
@media (max-width: 600px) {
  .plotly-graph-div { height: 95vh !important; min-height: 560px; }
  table.trades td.why { min-width: 12rem; }
}
"""
_Y_RANGE_SCRIPT = """
<script>
(function () {
  // Fit the price axis to the candles in view after each pan or zoom, as trading charts do.
  var gd = document.getElementById(%(id)s), t = %(times)s, lo = %(lows)s, hi = %(highs)s;
  if (!gd || !gd.on) return;
  function ms(v) {
    return typeof v === "number" ? v : Date.parse(String(v).replace(" ", "T") + "Z");
  }
  gd.on("plotly_relayout", function (e) {
    if (e["yaxis.range[0]"] !== undefined || e["yaxis.range"] !== undefined) return;
    var r = gd.layout.xaxis.range, a = ms(r[0]), b = ms(r[1]), l = Infinity, h = -Infinity;
    for (var i = 0; i < t.length; i++) {
      if (t[i] >= a && t[i] <= b) { if (lo[i] < l) l = lo[i]; if (hi[i] > h) h = hi[i]; }
    }
    if (l < h) { var p = (h - l) * 0.06; Plotly.relayout(gd, {"yaxis.range": [l - p, h + p]}); }
  });
})();
</script>
"""


def write_ict_plot(
    path: Path,
    figure: go.Figure,
    window: PlotWindow,
    title: str,
    run: StrategyRun | None = None,
) -> None:
    """The standalone page: a title, what the chart covers, the chart, and the setups."""
    div_id = "ict-plot"
    plot = figure.to_html(
        full_html=False,
        include_plotlyjs=True,
        config={**_PLOT_CONFIG, "scrollZoom": True},
        default_width="100%",
        default_height="78vh",
        div_id=div_id,
    )
    ohlc = window.ohlc.iloc[window.start :]
    script = _Y_RANGE_SCRIPT % {
        "id": json.dumps(div_id),
        "times": json.dumps(_open_times(ohlc).tolist()),
        "lows": json.dumps(ohlc["low"].round(10).tolist()),
        "highs": json.dumps(ohlc["high"].round(10).tolist()),
    }
    times = _open_times(window.frame)
    covers = (
        f"{short_time(int(times[window.first]))} → "
        f"{short_time(int(times[window.stop - 1]) + window.timeframe_ms)} UTC · "
        f"{window.candles:,} {format_timeframe(window.timeframe_ms)} candles · structures from "
        f"{window.start:,} candles before"
    )
    page = (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(title)}</title>\n<style>{_STYLE}{_PAGE_STYLE}</style>\n</head>\n<body>\n"
        f"<h1>{escape(title)}</h1>\n"
        f'<p class="run">{escape(covers)}{_run_line(run)}</p>\n'
        '<p class="hint legend-hint">Times in UTC; killzones on New York time. Drag to pan, '
        "scroll or pinch to zoom, double-click to reset; hover (or tap) anything for its "
        "details; click a legend entry to hide or show its layer.</p>\n"
        f"{plot}\n{script}{_setups_table(run, window)}</body>\n</html>\n"
    )
    path.write_text(page, encoding="utf-8")


def _run_line(run: StrategyRun | None) -> str:
    if run is None:
        return ""
    trades = run.trades
    won = sum(1 for t in trades if t.pnl > 0)
    unfilled = len(run.setups) - len(trades)
    return escape(
        f" · {len(trades)} trade{'s' * (len(trades) != 1)} ({won} won)"
        + (f", {unfilled} setup{'s' * (unfilled != 1)} not filled" if unfilled else "")
    )


def _setups_table(run: StrategyRun | None, window: PlotWindow) -> str:
    if run is None:
        return ""
    if not run.setups:
        return "<p>No setups in this window.</p>\n"
    price = _price_format(window.frame)
    rows = []
    for setup in run.setups:
        signal, trade = setup.signal, setup.trade
        side = (trade.side if trade else signal.direction if signal else Direction.FLAT).value

        def cell(value: float | None) -> str:
            return price(value) if value is not None else ""

        pnl = trade.pnl if trade is not None else None
        entry = float(trade.entry_price) if trade else signal.entry if signal else None
        tone = "" if pnl is None else "up" if pnl > 0 else "down" if pnl < 0 else ""
        cells = (
            f'<td class="text">{short_time(setup.time)}</td>'
            f'<td class="text">{side}</td>'
            f"<td>{cell(entry)}</td>"
            f"<td>{cell(signal.stop_loss if signal else None)}</td>"
            f"<td>{cell(signal.take_profit if signal else None)}</td>"
            f'<td class="text">{escape(setup.outcome)}</td>'
            f'<td class="{tone}">{format_pnl(pnl) if pnl is not None else ""}</td>'
            f'<td class="why">{escape(signal.reason) if signal else ""}</td>'
        )
        rows.append(f"<tr>{cells}</tr>")
    head = "".join(
        f'<th class="{"text" if name in ("signal", "side", "outcome", "why") else ""}">{name}</th>'
        for name in ("signal", "side", "entry", "stop", "target", "outcome", "pnl", "why")
    )
    return (
        f"<h2>Setups ({len(run.setups)})</h2>\n"
        f'<div class="trades-wrap"><table class="trades"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table></div>\n"
    )


def plot_title(
    symbol: str, window: PlotWindow, strategy: str | None, params: dict[str, Any]
) -> str:
    """`EURUSD 15m · ICT structures · ict(killzones=)`: the parameters as given."""
    what = f"{symbol} {format_timeframe(window.timeframe_ms)} · ICT structures"
    if strategy is None:
        return what
    given = ", ".join(f"{key}={value}" for key, value in params.items())
    return f"{what} · {strategy}({given})" if given else f"{what} · {strategy}"
