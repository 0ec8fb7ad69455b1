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

Modules, in the order a chart is made:
- `window`: the candles drawn, the history before them, and the chart's x coordinates;
- `layers`: the indicators' output as boxes, lines, markers and bands;
- `setups`: the strategy's backtest, each trade with the signal that opened it;
- `traces`: layers and setups as plotly traces;
- `figure`: the chart those traces make, with its killzone bands and axes;
- `page`: the standalone HTML page.
"""

from trading_bot.backtest.ict_plot.figure import ict_figure
from trading_bot.backtest.ict_plot.layers import ict_layers, indicator_params
from trading_bot.backtest.ict_plot.page import plot_title, write_ict_plot
from trading_bot.backtest.ict_plot.setups import run_strategy
from trading_bot.backtest.ict_plot.window import (
    MAX_CANDLES,
    PlotError,
    PlotWindow,
    select_window,
)

__all__ = [
    "MAX_CANDLES",
    "PlotError",
    "PlotWindow",
    "ict_figure",
    "ict_layers",
    "indicator_params",
    "plot_title",
    "run_strategy",
    "select_window",
    "write_ict_plot",
]
