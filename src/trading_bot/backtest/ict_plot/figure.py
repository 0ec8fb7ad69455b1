"""The chart: candles with the layers' and setups' traces on them, the killzones as shaded
bands behind, and axes that read like a trading chart's."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from trading_bot.backtest.ict_plot.layers import SESSION_LABELS, Band, IctLayers
from trading_bot.backtest.ict_plot.setups import StrategyRun
from trading_bot.backtest.ict_plot.traces import (
    box_traces,
    level_traces,
    setup_traces,
    structure_traces,
    sweep_trace,
    swing_trace,
)
from trading_bot.backtest.ict_plot.window import FloatArray, PlotWindow, open_times, price_format
from trading_bot.strategies.ict.indicators.sessions import killzone

_CANDLE_UP = "#ffffff"
_CANDLE_DOWN = "#475569"
_CANDLE_LINE = "#334155"
KILLZONE_STYLE = {
    # name: (legend name, band colour, label colour)
    "asia": ("Asia KZ", "rgba(100, 116, 139, 0.10)", "#475569"),
    "london": ("London KZ", "rgba(59, 130, 246, 0.10)", "#1d4ed8"),
    "ny_am": ("NY AM KZ", "rgba(249, 115, 22, 0.10)", "#c2410c"),
    "ny_pm": ("NY PM KZ", "rgba(234, 179, 8, 0.13)", "#a16207"),
}
_KILLZONE_NAMES = {name: f"{label} killzone" for name, label in SESSION_LABELS.items()}


def ict_figure(window: PlotWindow, layers: IctLayers, run: StrategyRun | None = None) -> go.Figure:
    """The chart: candles, each layer of `layers` (and `run`'s setups) as a legend entry of its
    own that hides or shows it. Traces are added bottom to top; `legendrank` orders the legend."""
    figure = go.Figure()
    ohlc = window.ohlc.iloc[window.start :]
    times = open_times(ohlc).astype(np.float64)
    price = price_format(window.frame)

    figure.add_traces(box_traces(layers))
    figure.add_traces(level_traces(layers))
    figure.add_trace(_candles(ohlc, times))
    figure.add_traces(structure_traces(layers.breaks))
    figure.add_trace(swing_trace(layers.swings))
    figure.add_trace(sweep_trace(layers.sweeps))
    if run is not None:
        figure.add_traces(setup_traces(run, window, price))
    _killzone_bands(figure, layers.killzones, window)
    _layout(figure, window, times, _price_range(ohlc, run))
    return figure


def _candles(ohlc: pd.DataFrame, times: FloatArray) -> go.Candlestick:
    """The window's candles, hovered with their prices and the killzone they open in."""
    zones = killzone(ohlc).to_numpy(dtype=object)
    return go.Candlestick(
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
                "text": SESSION_LABELS.get(band.name, band.name) if label else "",
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
    spikes = {
        "showspikes": True,
        "spikemode": "across",
        "spikesnap": "cursor",
        "spikethickness": 1,
        "spikecolor": "#9ca3af",
        "spikedash": "dot",
    }
    figure.update_xaxes(
        type="date",
        range=[_date(times[0] - half), _date(times[-1] + half)],
        rangeslider={"visible": False},
        rangebreaks=_gaps(times, window.timeframe_ms),
        hoverformat="%Y-%m-%d %H:%M",
        **spikes,
        showgrid=True,
        gridcolor="#f1f5f9",
    )
    figure.update_yaxes(
        range=list(prices),
        side="right",
        **spikes,
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
