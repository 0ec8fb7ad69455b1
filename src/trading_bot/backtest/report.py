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
from trading_bot.core.model import Direction, Trade

MAX_POINTS = 10_000
"""Points per line at most: 5,000 min/max pairs, more than a screen has pixels across, for
about 0.2 MB of data per line."""

_ENTRY_MARKERS = (
    (Direction.LONG, "triangle-up", "#16a34a"),
    (Direction.SHORT, "triangle-down", "#dc2626"),
)

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 1.5rem; color: #1f2937; }
h1 { font-size: 1.3rem; margin: 0 0 0.8rem; }
.synthetic { background: #dc2626; color: #fff; padding: 0.1rem 0.5rem; border-radius: 0.25rem;
             margin-left: 0.6rem; font-size: 0.95rem; }
table.metrics { border-collapse: collapse; font-size: 0.9rem; }
table.metrics td { padding: 0.15rem 1.2rem 0.15rem 0; }
table.metrics td:nth-child(even) { text-align: right; font-variant-numeric: tabular-nums; }
"""


def write_html_report(result: BacktestResult, path: Path) -> None:
    plot = _figure(result).to_html(
        full_html=False, include_plotlyjs=True, config={"responsive": True}
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
    lines = (
        ("close", result.close, 1),
        ("equity", result.equity, 2),
        ("drawdown %", drawdown_pct(result.equity, result.start_equity), 3),
    )
    for name, values, row in lines:
        keep = envelope_indices(values)
        figure.add_trace(
            go.Scattergl(x=times[keep], y=values[keep], mode="lines", name=name, line_width=1),
            row=row,
            col=1,
        )
        figure.update_yaxes(title_text=name, row=row, col=1)
    for trace in _trade_markers(result.trades):
        figure.add_trace(trace, row=1, col=1)
    figure.update_xaxes(type="date")
    figure.update_yaxes(autorange="reversed", row=3, col=1)  # drawdowns hang down from zero
    figure.update_layout(
        height=900,
        template="plotly_white",
        hovermode="closest",
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.01, "x": 0},
        margin={"l": 70, "r": 20, "t": 40, "b": 40},
    )
    return figure


def _trade_markers(trades: Sequence[Trade]) -> list[go.Scattergl]:
    markers = [
        _markers(
            f"{side.value} entry",
            [trade for trade in trades if trade.side is side],
            "entry",
            {"symbol": symbol, "color": color, "size": 10},
        )
        for side, symbol, color in _ENTRY_MARKERS
    ]
    markers.append(_markers("exit", trades, "exit", {"symbol": "x", "color": "#374151", "size": 8}))
    return markers


def _markers(
    name: str, trades: Sequence[Trade], leg: str, marker: dict[str, object]
) -> go.Scattergl:
    """One marker per trade at its entry or its exit (`leg`), with the trade in its hover."""
    entry = leg == "entry"
    times = [trade.entry_time if entry else trade.exit_time for trade in trades]
    prices = [trade.entry_price if entry else trade.exit_price for trade in trades]
    return go.Scattergl(
        x=np.array(times, dtype=np.float64),
        y=np.array(prices, dtype=np.float64),
        text=[
            f"{trade.side.value} {leg} @ {price}<br>qty {trade.qty}<br>"
            f"pnl {trade.pnl} (fees {trade.fees})<br>exit: {escape(trade.exit_reason)}"
            for trade, price in zip(trades, prices, strict=True)
        ],
        mode="markers",
        name=name,
        marker=marker,
        hoverinfo="x+text",
    )


def _page(result: BacktestResult, plot: str) -> str:
    badge = f'<span class="synthetic">{SYNTHETIC_LABEL}</span>' if result.synthetic else ""
    cells = [
        f"<td>{escape(label)}</td><td>{escape(text)}</td>" for label, text in result.summary_rows()
    ]
    # Two label/value pairs per row keep the table short above the chart.
    rows = "".join(f"<tr>{''.join(cells[i : i + 2])}</tr>" for i in range(0, len(cells), 2))
    title = escape(result.headline)
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{title}{' · ' + SYNTHETIC_LABEL if result.synthetic else ''}</title>\n"
        f"<style>{_STYLE}</style>\n</head>\n<body>\n"
        f"<h1>{title}{badge}</h1>\n"
        f'<table class="metrics">{rows}</table>\n'
        f"{plot}\n</body>\n</html>\n"
    )
