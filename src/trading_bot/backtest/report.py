"""The HTML report of a backtest: one standalone file (plotly.js inline, nothing fetched when
opened) with price and trades, equity and drawdown on one shared time axis.

Long runs are drawn through a min/max envelope (`envelope_indices`), so a million bars make a
file of a few MB (most of it the 4.8 MB of plotly.js) that a browser opens at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from pathlib import Path

import numpy as np
import plotly.graph_objects as go
from numpy.typing import NDArray
from plotly.subplots import make_subplots

from trading_bot.backtest.metrics import drawdown_pct
from trading_bot.backtest.result import SYNTHETIC_LABEL, BacktestResult
from trading_bot.backtest.summary import (
    LAST_TRADES,
    duration,
    format_pnl,
    format_price,
    price_decimals,
    short_time,
)
from trading_bot.core.model import Direction, Trade

MAX_POINTS = 10_000
"""Points per line at most: 5,000 min/max pairs, more than a screen has pixels across, for
about 0.2 MB of data per line."""

_ENTRY_MARKERS = (
    (Direction.LONG, "triangle-up", "#16a34a"),
    (Direction.SHORT, "triangle-down", "#dc2626"),
)
_PRICE_COLOUR = "#2563eb"
_EQUITY_COLOUR = "#0f766e"
_DRAWDOWN_COLOUR = "#dc2626"
_MARKER_SIZES = ((100, 11, 9), (1_000, 8, 6))
"""(most trades, entry size, exit size): markers shrink as trades crowd the price line."""
_CROWDED_MARKERS = (5, 5)
"""Marker sizes past the last of `_MARKER_SIZES`, where exits also start hidden (a click on
their legend entry shows them): in a crowd they would hide the price line."""
_RUN_LABELS = ("Period", "Bars", "Elapsed", "Speed")
"""Rows of `summary_rows` about the run rather than its results: one line under the title."""

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 1.5rem; color: #1f2937; }
h1 { font-size: 1.3rem; margin: 0 0 0.3rem; overflow-wrap: anywhere; }
h2 { font-size: 1.05rem; margin: 1.2rem 0 0.4rem; }
.synthetic { background: #dc2626; color: #fff; padding: 0.1rem 0.5rem; border-radius: 0.25rem;
             margin-left: 0.6rem; font-size: 0.95rem; white-space: nowrap; }
p.synthetic-note { color: #b91c1c; font-weight: 600; margin: 0 0 0.3rem; font-size: 0.9rem; }
p.run { color: #4b5563; margin: 0 0 0.8rem; font-size: 0.9rem; }
dl.metrics { display: grid; grid-template-columns: repeat(6, minmax(0, 1fr)); gap: 0.5rem;
             margin: 0 0 0.8rem; max-width: 60rem; }
dl.metrics div { background: #f3f4f6; border-radius: 0.35rem; padding: 0.35rem 0.6rem; }
dl.metrics dt { font-size: 0.75rem; color: #6b7280; white-space: nowrap; }
dl.metrics dd { margin: 0.1rem 0 0; font-size: 1.05rem; font-weight: 600; white-space: nowrap;
                font-variant-numeric: tabular-nums; }
.up { color: #15803d; }
.down { color: #b91c1c; }
p.hint { font-size: 0.8rem; color: #6b7280; margin: 0; }
.trades-wrap { overflow-x: auto; }
table.trades { border-collapse: collapse; font-size: 0.85rem; font-variant-numeric: tabular-nums;
               white-space: nowrap; }
table.trades th, table.trades td { padding: 0.2rem 0.6rem; text-align: right; }
table.trades th { border-bottom: 1px solid #d1d5db; font-weight: 600; }
table.trades .text { text-align: left; }
@media (max-width: 900px) {
  dl.metrics { grid-template-columns: repeat(4, minmax(0, 1fr)); }
}
@media (max-width: 600px) {
  body { margin: 0.75rem; }
  h1 { font-size: 1.1rem; }
  dl.metrics { grid-template-columns: repeat(3, minmax(0, 1fr)); gap: 0.3rem; }
  dl.metrics div { padding: 0.3rem 0.4rem; }
  dl.metrics dt { font-size: 0.7rem; }
  dl.metrics dd { font-size: 0.95rem; }
  table.trades .wide { display: none; }
  table.trades th, table.trades td { padding: 0.2rem 0.35rem; }
}
"""
_PLOT_CONFIG = {
    "responsive": True,
    "displaylogo": False,
    "modeBarButtonsToRemove": ["select2d", "lasso2d", "autoScale2d", "zoomIn2d", "zoomOut2d"],
}


def write_html_report(result: BacktestResult, path: Path) -> None:
    plot = _figure(result).to_html(
        full_html=False, include_plotlyjs=True, config=_PLOT_CONFIG, default_width="100%"
    )
    path.write_text(_page(result, plot), encoding="utf-8")


def envelope_indices(values: NDArray[np.float64], max_points: int = MAX_POINTS) -> NDArray[np.intp]:
    """Sorted indices of `values` to draw instead of all of them: every index when they fit in
    `max_points`, else the first, the last, and the minimum and maximum of each of
    `max_points / 2` equal buckets. A line through these keeps every spike and the whole range,
    which plain every-nth sampling loses."""
    n = len(values)
    if n <= max_points:
        return np.arange(n)
    width = -(-n // (max_points // 2))
    rows = -(-n // width)
    # Padding with the last value never moves a bucket's first minimum or maximum into the pad.
    buckets = np.pad(values, (0, rows * width - n), mode="edge").reshape(rows, width)
    starts = np.arange(rows) * width
    picks = np.concatenate(
        (starts + buckets.argmin(axis=1), starts + buckets.argmax(axis=1), [0, n - 1])
    )
    return np.unique(picks)


def _figure(result: BacktestResult) -> go.Figure:
    figure = make_subplots(
        rows=3,
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.04,
        row_heights=[0.55, 0.25, 0.2],
    )
    # Epoch ms as float64 on a date axis: plotly writes float arrays compactly (base64).
    times = result.times.astype(np.float64)
    drawdown = drawdown_pct(result.equity, result.start_equity)
    lines: tuple[tuple[str, NDArray[np.float64], int, str, str, dict[str, str]], ...] = (
        ("price", result.close, 1, _PRICE_COLOUR, "%{y}", {}),
        ("equity", result.equity, 2, _EQUITY_COLOUR, "%{y:,.2f}", {}),
        # Drawdowns hang down from zero (the axis is reversed), shaded like an underwater plot.
        (
            "drawdown",
            drawdown,
            3,
            _DRAWDOWN_COLOUR,
            "%{y:.2f}%",
            {"fill": "tozeroy", "fillcolor": "rgba(220, 38, 38, 0.2)"},
        ),
    )
    # Markers first, so the price line is drawn over them where trades crowd it.
    for trace in _trade_markers(result.trades):
        figure.add_trace(trace, row=1, col=1)
    for name, values, row, colour, value, extra in lines:
        keep = envelope_indices(values)
        figure.add_trace(
            go.Scattergl(
                x=times[keep],
                y=values[keep],
                mode="lines",
                name=name,
                line={"width": 1, "color": colour},
                showlegend=False,  # the axis titles name the lines
                hovertemplate=f"%{{x|%Y-%m-%d %H:%M}}<br>{name} {value}<extra></extra>",
                **extra,
            ),
            row=row,
            col=1,
        )
    figure.update_yaxes(title_text="price", row=1, col=1)
    figure.update_yaxes(title_text="equity", tickformat=",.0f", row=2, col=1)
    figure.update_yaxes(
        title_text="drawdown",
        ticksuffix="%",
        autorange="reversed",
        rangemode="tozero",
        row=3,
        col=1,
    )
    figure.add_hline(
        y=result.start_equity, row=2, col=1, line={"width": 1, "dash": "dot", "color": "#9ca3af"}
    )
    figure.update_xaxes(type="date", hoverformat="%Y-%m-%d %H:%M")
    if result.synthetic:
        # On the chart itself too: a screenshot of the chart alone still says what it shows.
        figure.add_annotation(
            text=SYNTHETIC_LABEL,
            xref="x domain",
            yref="y domain",
            x=0.5,
            y=0.5,
            showarrow=False,
            textangle=-15,
            font={"size": 32, "color": "rgba(220, 38, 38, 0.18)"},
        )
    figure.update_layout(
        height=900,
        template="plotly_white",
        hovermode="closest",
        legend={
            "orientation": "h",
            "yanchor": "bottom",
            "y": 1.005,
            "x": 0,
            "itemsizing": "constant",
        },
        margin={"l": 70, "r": 16, "t": 60, "b": 40},
    )
    return figure


def _trade_markers(trades: Sequence[Trade]) -> list[go.Scattergl]:
    entry_size, exit_size = next(
        ((entry, exit_) for most, entry, exit_ in _MARKER_SIZES if len(trades) <= most),
        _CROWDED_MARKERS,
    )
    decimals = price_decimals(p for trade in trades for p in (trade.entry_price, trade.exit_price))
    markers = [
        _markers(
            f"{side.value} entry",
            [trade for trade in trades if trade.side is side],
            "entry",
            decimals,
            {"symbol": symbol, "color": color, "size": entry_size},
        )
        for side, symbol, color in _ENTRY_MARKERS
    ]
    grey = "#4b5563"
    exit_marker = {
        "symbol": "x-thin",
        "color": grey,
        "size": exit_size,
        "line": {"width": 1.5, "color": grey},
    }
    exits = _markers("exit", trades, "exit", decimals, exit_marker)
    if len(trades) > _MARKER_SIZES[-1][0]:
        exits.visible = "legendonly"
    markers.append(exits)
    return markers


def _markers(
    name: str, trades: Sequence[Trade], leg: str, decimals: int, marker: dict[str, object]
) -> go.Scattergl:
    """One marker per trade at its entry or its exit (`leg`), with the trade in its hover."""
    entry = leg == "entry"
    times = [trade.entry_time if entry else trade.exit_time for trade in trades]
    prices = [trade.entry_price if entry else trade.exit_price for trade in trades]
    return go.Scattergl(
        x=np.array(times, dtype=np.float64),
        y=np.array(prices, dtype=np.float64),
        text=[
            f"<b>{trade.side.value} {leg}</b> @ {format_price(price, decimals)}<br>"
            f"{short_time(trade.entry_time)} → {short_time(trade.exit_time)}"
            f" ({duration(trade.exit_time - trade.entry_time)})<br>"
            f"qty {trade.qty.normalize():f}<br>"
            f"pnl {format_pnl(trade.pnl)} (fees {format_pnl(trade.fees).lstrip('+')})<br>"
            f"entry: {escape(trade.entry_reason)}<br>"
            f"exit: {escape(trade.exit_reason)}"
            for trade, price in zip(trades, prices, strict=True)
        ],
        mode="markers",
        name=name,
        marker=marker,
        hovertemplate="%{text}<extra></extra>",
    )


def _page(result: BacktestResult, plot: str) -> str:
    badge = f'<span class="synthetic">{SYNTHETIC_LABEL}</span>' if result.synthetic else ""
    note = (
        '<p class="synthetic-note">Generated sample candles, not market prices: these results '
        "say nothing about a real market.</p>\n"
        if result.synthetic
        else ""
    )
    rows = result.summary_rows()
    metrics = [(label, text) for label, text in rows if label not in _RUN_LABELS]
    title = escape(result.headline)
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{title}{' · ' + SYNTHETIC_LABEL if result.synthetic else ''}</title>\n"
        f"<style>{_STYLE}</style>\n</head>\n<body>\n"
        f"<h1>{title}{badge}</h1>\n{note}"
        f'<p class="run">{_run_line(dict(rows))}</p>\n'
        f"{_metrics(metrics)}\n"
        '<p class="hint">Times in UTC. Drag to zoom, double-click to zoom out, hover a marker for '
        "its trade, click a legend entry to hide or show it.</p>\n"
        f"{plot}\n{_trades(result.trades)}</body>\n</html>\n"
    )


def _run_line(rows: dict[str, str]) -> str:
    """`2017-08-17T05:00:00Z → 2021-07-19T00:00:00Z · 34,348 bars · run in 0.238 s (144,116
    bars/s)`: what the run covered and how long it took, from `summary_rows`."""
    parts = [rows.get("Period", "")]
    if "Bars" in rows:
        parts.append(f"{rows['Bars']} bars")
    if "Elapsed" in rows:
        speed = f" ({rows['Speed']})" if "Speed" in rows else ""
        parts.append(f"run in {rows['Elapsed']}{speed}")
    return " · ".join(escape(part) for part in parts if part)


def _metrics(rows: Sequence[tuple[str, str]]) -> str:
    """The metrics as tiles, a label over each value; signed values are coloured."""
    tiles = []
    for label, text in rows:
        tone = ' class="up"' if text.startswith("+") else ' class="down"' if text[:1] == "-" else ""
        tiles.append(f"<div><dt>{escape(label)}</dt><dd{tone}>{escape(text)}</dd></div>")
    return f'<dl class="metrics">{"".join(tiles)}</dl>'


def _trades(trades: Sequence[Trade]) -> str:
    """The last trades, as in the terminal summary."""
    if not trades:
        return "<p>No trades.</p>\n"
    shown = trades[-LAST_TRADES:]
    decimals = price_decimals(p for trade in shown for p in (trade.entry_price, trade.exit_price))
    qty_decimals = price_decimals(trade.qty for trade in shown)
    head = "".join(f"<th{_column_class(name)}>{name}</th>" for name in _TRADE_COLUMNS)
    rows = []
    for trade in shown:
        tone = "up" if trade.pnl > 0 else "down" if trade.pnl < 0 else ""
        cells = (
            f'<td class="text">{trade.side.value}</td>'
            f'<td class="text">{short_time(trade.entry_time)}</td>'
            f'<td class="text wide">{short_time(trade.exit_time)}</td>'
            f"<td>{duration(trade.exit_time - trade.entry_time)}</td>"
            f"<td>{format_price(trade.entry_price, decimals)}</td>"
            f"<td>{format_price(trade.exit_price, decimals)}</td>"
            f'<td class="wide">{format_price(trade.qty, qty_decimals)}</td>'
            f'<td class="{tone}">{format_pnl(trade.pnl)}</td>'
            f'<td class="text">{escape(trade.exit_reason)}</td>'
        )
        rows.append(f"<tr>{cells}</tr>")
    return (
        f"<h2>Last {len(shown)} of {len(trades):,} trades (UTC)</h2>\n"
        f'<div class="trades-wrap"><table class="trades"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table></div>\n"
    )


_TRADE_COLUMNS = (
    "side",
    "entry time",
    "exit time",
    "held",
    "entry price",
    "exit price",
    "qty",
    "pnl",
    "reason",
)
_TEXT_COLUMNS = ("side", "entry time", "exit time", "reason")
_WIDE_COLUMNS = ("exit time", "qty")
"""Columns a phone leaves out: the entry time and how long the trade was held stand for them."""


def _column_class(name: str) -> str:
    classes = [
        c for c, names in (("text", _TEXT_COLUMNS), ("wide", _WIDE_COLUMNS)) if name in names
    ]
    return f' class="{" ".join(classes)}"' if classes else ""
