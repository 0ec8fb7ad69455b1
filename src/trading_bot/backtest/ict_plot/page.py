"""The standalone chart page: a title, what the chart covers, the chart (plotly.js inline,
nothing fetched when opened) with its price axis fitted to the candles in view, and a table
of the strategy's setups."""

from __future__ import annotations

import json
from html import escape
from pathlib import Path
from typing import Any

import plotly.graph_objects as go

from trading_bot.backtest.ict_plot.setups import StrategyRun
from trading_bot.backtest.ict_plot.window import PlotWindow, open_times, price_format
from trading_bot.backtest.report import _PLOT_CONFIG, _STYLE
from trading_bot.backtest.summary import format_pnl, short_time
from trading_bot.core.model import Direction
from trading_bot.data.timeframes import format_timeframe

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
        "times": json.dumps(open_times(ohlc).tolist()),
        "lows": json.dumps(ohlc["low"].round(10).tolist()),
        "highs": json.dumps(ohlc["high"].round(10).tolist()),
    }
    first_open, last_close = window.span_ms
    covers = (
        f"{short_time(first_open)} → {short_time(last_close)} UTC · "
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
    price = price_format(window.frame)
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
