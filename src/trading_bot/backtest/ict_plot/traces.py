"""The layers and a strategy's setups as plotly traces: each a legend entry (group) of its own
that hides or shows it."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from html import escape
from typing import Any

import plotly.graph_objects as go

from trading_bot.backtest.ict_plot.layers import (
    BEARISH,
    BULLISH,
    Box,
    BreakLine,
    IctLayers,
    Mark,
    Price,
    Segment,
)
from trading_bot.backtest.ict_plot.setups import Setup, StrategyRun
from trading_bot.backtest.ict_plot.window import Axis, PlotWindow
from trading_bot.backtest.summary import duration, format_pnl, short_time
from trading_bot.core.model import Direction

GREEN, RED = "#16a34a", "#dc2626"
_BOXES = {
    # (layer, side): (name, fill, line)
    ("fvg", BULLISH): ("Bull FVG", "rgba(22, 163, 74, 0.16)", "rgba(22, 163, 74, 0.55)"),
    ("fvg", BEARISH): ("Bear FVG", "rgba(220, 38, 38, 0.14)", "rgba(220, 38, 38, 0.5)"),
    ("ob", BULLISH): ("Bull OB", "rgba(37, 99, 235, 0.14)", "rgba(37, 99, 235, 0.6)"),
    ("ob", BEARISH): ("Bear OB", "rgba(234, 88, 12, 0.14)", "rgba(234, 88, 12, 0.6)"),
}
LEVEL_FAMILIES = {
    # family: (legend name, colour, dash)
    "day": ("Prev. day H/L", "#7c3aed", "dash"),
    "week": ("Prev. week H/L", "#be185d", "dash"),
    "session": ("Prev. session H/L", "#64748b", "dash"),
    "equal": ("Equal H/L", "#b45309", "dash"),
}
_HOVER = "%{text}<extra></extra>"
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

Line = Segment | BreakLine
"""A horizontal line from `x0` to `x1` at `y`, with a short `label` and a hover `text`."""


def box_traces(layers: IctLayers) -> list[go.Scatter]:
    """Fair value gaps and order blocks, one trace per kind and side."""
    traces = []
    for (layer, side), (name, fill, line) in _BOXES.items():
        boxes = layers.fvgs if layer == "fvg" else layers.order_blocks
        group = f"{layer}-{'bull' if side == BULLISH else 'bear'}"
        traces.append(_boxes(name, group, [b for b in boxes if b.side == side], fill, line))
    return traces


def level_traces(layers: IctLayers) -> list[go.Scatter]:
    """Liquidity levels: lines and their labels, per family (previous day, week, ...)."""
    traces = []
    for family, (name, colour, dash) in LEVEL_FAMILIES.items():
        segments = [s for s in layers.levels if s.family == family]
        traces += _segments(name, f"level-{family}", segments, colour, dash, 1.2)
    return traces


def structure_traces(breaks: Sequence[BreakLine]) -> list[go.Scatter]:
    """Breaks of structure: dotted lines, labelled BOS or CHoCH at their middle."""
    lines = _lines(
        "BOS / CHoCH", "structure", breaks, {"width": 1, "color": "#1f2937", "dash": "dot"}
    )
    labels = _labels(
        None,
        "structure",
        breaks,
        [(b.x0 + b.x1) / 2 for b in breaks],
        ["top center" if b.side == BULLISH else "bottom center" for b in breaks],
        {"size": 9, "color": [GREEN if b.side == BULLISH else RED for b in breaks]},
    )
    return [lines, labels]


def swing_trace(swings: Sequence[Mark]) -> go.Scatter:
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


def sweep_trace(sweeps: Sequence[Mark]) -> go.Scatter:
    return _marks(
        "Sweeps",
        "sweeps",
        sweeps,
        {"symbol": "star", "size": 9, "color": "#f59e0b", "line": {"width": 0.8}},
        _RANKS["sweeps"],
    )


def _boxes(name: str, group: str, boxes: Sequence[Box], fill: str, line: str) -> go.Scatter:
    """Boxes as one filled trace of closed outlines (one per box, apart), hovered at corners."""
    return _paths(
        name,
        group,
        [
            ([b.x0, b.x1, b.x1, b.x0, b.x0], [b.bottom, b.bottom, b.top, b.top, b.bottom], b.text)
            for b in boxes
        ],
        fill="toself",
        fillcolor=fill,
        line={"width": 0.8, "color": line},
        hoveron="points",
    )


def _segments(
    name: str, group: str, segments: Sequence[Segment], colour: str, dash: str, width: float
) -> list[go.Scatter]:
    """Horizontal lines as one trace, and their labels (at the right end, which is where price
    took the level, or the chart's edge) as another in the same legend group."""
    lines = _lines(name, group, segments, {"width": width, "color": colour, "dash": dash})
    labels = _labels(
        name,
        group,
        segments,
        [s.x1 for s in segments],
        ["top left" if s.side == BULLISH else "bottom left" for s in segments],
        {"size": 10, "color": colour},
    )
    return [lines, labels]


def _lines(name: str, group: str, lines: Sequence[Line], line: dict[str, Any]) -> go.Scatter:
    """Horizontal lines as one trace."""
    return _paths(name, group, [([s.x0, s.x1], [s.y, s.y], s.text) for s in lines], line=line)


def _paths(
    name: str, group: str, paths: Sequence[tuple[list[float], list[float], str]], **style: Any
) -> go.Scatter:
    """Paths (x, y, hover text) as one polyline trace, apart (a None between them), in the
    legend group `group`; `style` says how to draw it."""
    x: list[float | None] = []
    y: list[float | None] = []
    text: list[str | None] = []
    for xs, ys, hover in paths:
        x += [*xs, None]
        y += [*ys, None]
        text += [hover] * len(xs) + [None]
    return go.Scatter(
        x=x,
        y=y,
        text=text,
        name=name,
        legendgroup=group,
        legendrank=_RANKS.get(group, 40),
        mode="lines",
        **style,
        hovertemplate=_HOVER,
        meta={"layer": group, "count": len(paths)},
    )


def _labels(
    name: str | None,
    group: str,
    lines: Sequence[Line],
    x: list[float],
    position: list[str],
    font: dict[str, Any],
) -> go.Scatter:
    """The lines' labels at `x`, hovered like the lines, in their legend group."""
    return go.Scatter(
        x=x,
        y=[s.y for s in lines],
        text=[s.label for s in lines],
        hovertext=[s.text for s in lines],
        textposition=position,
        textfont=font,
        name=name,
        legendgroup=group,
        showlegend=False,
        mode="text",
        hovertemplate="%{hovertext}<extra></extra>",
        meta={"layer": f"{group}-labels"},
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


def setup_traces(run: StrategyRun, window: PlotWindow, price: Price) -> list[Any]:
    """Per trade: the stop and target from the signal to the exit, the entry and the exit; per
    setup that did not fill, a hollow marker at its entry price."""
    half = window.half
    axis = Axis(window)
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
            if axis.inside(signal.time - half):
                unfilled.append(Mark(0, signal.time - half, at, text))
            continue
        # Lines start at the signal (the close of its candle) and end at the exit candle.
        x0 = axis.clip(signal.time - half if signal is not None else float(trade.entry_time))
        x1 = axis.clip(float(trade.exit_time))
        if x1 > x0:
            entry = float(trade.entry_price)
            planned = [("entry", "entry", signal.entry if signal else None)]
            planned += [("stop", "SL", signal.stop_loss if signal else None)]
            planned += [("target", "TP", signal.take_profit if signal else None)]
            for key, label, value in planned:
                y = entry if key == "entry" and value is None else value
                if y is not None:
                    levels[key].append(Segment(key, 0, x0, x1, y, label, text))
        if axis.inside(float(trade.entry_time)):
            entries[trade.side].append(
                Mark(0, float(trade.entry_time), float(trade.entry_price), text)
            )
        if axis.inside(float(trade.exit_time)):
            exits.append(Mark(0, float(trade.exit_time), float(trade.exit_price), text))
    traces: list[Any] = []
    for key, name, colour, dash, width in (
        ("stop", "Stops", RED, "solid", 1.6),
        ("target", "Targets", GREEN, "solid", 1.6),
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
        (Direction.LONG, "triangle-up", GREEN),
        (Direction.SHORT, "triangle-down", RED),
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


def _setup_text(setup: Setup, price: Price) -> str:
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
