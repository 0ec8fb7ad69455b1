"""The HTML report of an optimization: one standalone file (plotly.js inline, nothing fetched).

It shows the objective as a heatmap over the first two varying parameters (each cell the best
score over the other parameters; one heatmap per walk-forward fold, in-sample), and the
walk-forward out-of-sample equity: the folds' curves chained, each starting from where the
previous one ended, as if the strategy had been re-optimized and traded fold by fold.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from pathlib import Path

import numpy as np
import numpy.typing as npt
import plotly.graph_objects as go

from trading_bot.optimize.trials import Trial

_PLOT_CONFIG = {"responsive": True, "displaylogo": False}
_STYLE = """
body { font-family: system-ui, sans-serif; margin: 1.5rem; color: #1f2937; }
h1 { font-size: 1.3rem; margin: 0 0 0.3rem; overflow-wrap: anywhere; }
p { color: #4b5563; font-size: 0.9rem; }
"""


def heatmap(
    trials: Sequence[Trial], names: tuple[str, str], objective: str, title: str
) -> go.Figure:
    """Best eligible score per (x, y) cell; blank where no trial there was eligible."""
    x_name, y_name = names
    xs = sorted({t.params[x_name] for t in trials}, key=_order)
    ys = sorted({t.params[y_name] for t in trials}, key=_order)
    z = np.full((len(ys), len(xs)), np.nan)
    for trial in trials:
        if trial.status == "ok" and trial.score is not None and np.isfinite(trial.score):
            row, col = ys.index(trial.params[y_name]), xs.index(trial.params[x_name])
            z[row, col] = np.fmax(z[row, col], trial.score)
    figure = go.Figure(
        go.Heatmap(
            x=[str(x) for x in xs],
            y=[str(y) for y in ys],
            z=z,
            colorscale="RdYlGn",
            colorbar={"title": {"text": objective}},
            hovertemplate=f"{x_name}=%{{x}}<br>{y_name}=%{{y}}<br>{objective} %{{z:.3f}}"
            "<extra></extra>",
        )
    )
    figure.update_layout(
        title=title,
        xaxis={"title": {"text": x_name}, "type": "category"},
        yaxis={"title": {"text": y_name}, "type": "category"},
        template="plotly_white",
        height=520,
    )
    return figure


def chained_equity(
    curves: Sequence[tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]], start_equity: float
) -> go.Figure:
    """Out-of-sample equity curves (times, equity) of consecutive folds, chained."""
    figure = go.Figure()
    carry = start_equity
    for fold, (times, equity) in enumerate(curves, start=1):
        scaled = equity * (carry / start_equity)
        figure.add_trace(
            go.Scatter(
                x=times.astype("datetime64[ms]"),
                y=scaled,
                mode="lines",
                name=f"fold {fold}",
                hovertemplate="%{x|%Y-%m-%d %H:%M}<br>equity %{y:,.2f}<extra></extra>",
            )
        )
        if len(scaled):
            carry = float(scaled[-1])
    figure.add_hline(y=start_equity, line={"width": 1, "dash": "dot", "color": "#9ca3af"})
    figure.update_layout(
        title="Walk-forward out-of-sample equity (chained)",
        yaxis={"title": {"text": "equity"}, "tickformat": ",.0f"},
        template="plotly_white",
        height=420,
    )
    return figure


def write_html(path: Path, title: str, notes: Sequence[str], figures: Sequence[go.Figure]) -> None:
    plots = [
        figure.to_html(
            full_html=False,
            include_plotlyjs=i == 0,
            config=_PLOT_CONFIG,
            default_width="100%",
        )
        for i, figure in enumerate(figures)
    ]
    paragraphs = "".join(f"<p>{escape(note)}</p>" for note in notes)
    path.write_text(
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head><body>"
        f"<h1>{escape(title)}</h1>{paragraphs}{''.join(plots)}</body></html>",
        encoding="utf-8",
    )


def _order(value: object) -> tuple[int, float, str]:
    """Numbers in numeric order, then anything else by its text."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return (0, float(value), "")
    return (1, 0.0, str(value))
