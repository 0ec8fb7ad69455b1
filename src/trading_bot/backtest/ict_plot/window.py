"""The window a chart shows, the history before it the indicators start from, and the chart's
x coordinates.

Coordinates: a candle is drawn centred on its open time, so it spans open time ± half a
candle; an instant (a close, a signal) sits on a candle edge, half a candle before the open
time it equals. Times are epoch milliseconds on a date axis, shown as UTC.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from trading_bot.backtest.summary import short_time
from trading_bot.core.clock import ms_to_datetime
from trading_bot.data.files import infer_timeframe_ms
from trading_bot.data.instruments import price_decimals as data_decimals

MAX_CANDLES = 3_000
"""Candles a chart shows at most: past this, candles are thinner than a pixel on a desktop."""
HISTORY_CANDLES = 500
HISTORY_MS = 14 * 86_400_000
"""The indicators start this far before the window (the longer of the two), so the structures
known when it opens show, with the previous week's high and low among them."""
AFTER_CANDLES = 500
"""Candles past the window's end the backtest runs on, so a trade opened in the window exits
as it would have rather than at the chart's edge."""

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

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

    @property
    def span_ms(self) -> tuple[int, int]:
        """The open of the window's first candle and the close of its last (epoch ms)."""
        times = open_times(self.frame)
        return int(times[self.first]), int(times[self.stop - 1]) + self.timeframe_ms


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
    times = open_times(frame)
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


def open_times(frame: pd.DataFrame) -> IntArray:
    """The candles' open times, epoch ms."""
    return pd.DatetimeIndex(frame.index).to_numpy(dtype="datetime64[ms]").astype(np.int64)


def price_format(frame: pd.DataFrame) -> Callable[[float], str]:
    """A price as text, with as many decimals as the data's prices have."""
    decimals = data_decimals(frame)

    def price(value: float) -> str:
        return f"{value:.{decimals}f}"

    return price


class Axis:
    """Bar positions of the indicator frame to chart x, clipped to the window."""

    def __init__(self, window: PlotWindow) -> None:
        self.times = open_times(window.ohlc).astype(np.float64)
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

    def clip(self, x: float) -> float:
        """An instant, moved into the window if outside it."""
        return min(max(x, self.left), self.right)

    def inside(self, x: float) -> bool:
        return self.left <= x <= self.right

    def time(self, bar: int) -> str:
        return short_time(int(self.times[bar]))
