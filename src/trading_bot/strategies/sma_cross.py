"""The reference strategy: a simple moving average crossover, always in the market once the
averages have crossed, long above and short below."""

from __future__ import annotations

import math
from collections import deque
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from numpy.lib.stride_tricks import sliding_window_view
from pydantic import Field, model_validator

from trading_bot.core.model import Candle, Direction, Signal
from trading_bot.strategies.base import Strategy, StrategyParams, frame_open_times


class SmaCrossParams(StrategyParams):
    fast: int = Field(10, ge=1, description="bars in the fast simple moving average")
    slow: int = Field(20, ge=2, description="bars in the slow simple moving average")

    @model_validator(mode="after")
    def _fast_below_slow(self) -> SmaCrossParams:
        if self.fast >= self.slow:
            raise ValueError(f"fast ({self.fast}) must be smaller than slow ({self.slow})")
        return self


class SmaCross(Strategy):
    """When the fast SMA of closes crosses above the slow one, close any short and go long;
    when it crosses below, close any long and go short.

    A cross means the previous bar had fast < slow and this one fast > slow (strictly, as
    backtesting.py's `crossover`), so touching averages do not trade. A cross toward the side
    already held changes nothing (the risk manager ignores it). Averages are exact sums
    (`math.fsum`), so equal averages compare equal whatever the order of the closes.
    """

    name = "sma_cross"
    Params = SmaCrossParams

    def __init__(self, params: StrategyParams, symbol: str, timeframe_ms: int) -> None:
        super().__init__(params, symbol, timeframe_ms)
        assert isinstance(params, SmaCrossParams)
        self.fast = params.fast
        self.slow = params.slow
        self.fast_closes: deque[float] = deque(maxlen=params.fast)
        self.slow_closes: deque[float] = deque(maxlen=params.slow)
        self.prev_diff: float | None = None

    def on_candle(self, candle: Candle) -> Signal | None:
        self.fast_closes.append(candle.close)
        slow_closes = self.slow_closes
        slow_closes.append(candle.close)
        if len(slow_closes) < self.slow:
            return None
        diff = math.fsum(self.fast_closes) / self.fast - math.fsum(slow_closes) / self.slow
        prev, self.prev_diff = self.prev_diff, diff
        if prev is None:
            return None
        if prev < 0 < diff:
            direction = Direction.LONG
        elif prev > 0 > diff:
            direction = Direction.SHORT
        else:
            return None
        return Signal(candle.symbol, direction, candle.close_time, candle.close, reason="sma cross")

    def batch_signals(self, frame: pd.DataFrame) -> dict[int, Signal]:
        closes = frame["close"].to_numpy(dtype=np.float64)
        diff = _exact_mean_difference(closes, self.fast, self.slow)
        prev, cur = diff[:-1], diff[1:]
        ups = np.flatnonzero((prev < 0) & (cur > 0)) + 1
        downs = np.flatnonzero((prev > 0) & (cur < 0)) + 1
        open_times = frame_open_times(frame)
        signals = {}
        for indices, direction in ((ups, Direction.LONG), (downs, Direction.SHORT)):
            for i in indices.tolist():
                close_time = int(open_times[i]) + self.timeframe_ms
                signals[int(open_times[i])] = Signal(
                    self.symbol, direction, close_time, float(closes[i]), reason="sma cross"
                )
        return signals

    def state(self) -> dict[str, Any]:
        return {"closes": list(self.slow_closes), "prev_diff": self.prev_diff}

    def restore(self, state: dict[str, Any]) -> None:
        for close in state.get("closes", []):
            self.fast_closes.append(float(close))
            self.slow_closes.append(float(close))
        prev = state.get("prev_diff")
        self.prev_diff = None if prev is None else float(prev)


def _exact_mean_difference(
    closes: npt.NDArray[np.float64], fast: int, slow: int
) -> npt.NDArray[np.float64]:
    """fast SMA − slow SMA per bar, NaN during warm-up, bit-identical to `on_candle`'s.

    Window sums come vectorized (within ~1e-12 of exact); wherever that leaves the sign of the
    difference in doubt, the bar is recomputed exactly as `on_candle` does, with `math.fsum`.
    """
    n = len(closes)
    diff = np.full(n, np.nan)
    if n < slow:
        return diff
    fast_mean = sliding_window_view(closes, fast).sum(axis=1)[slow - fast :] / fast
    slow_mean = sliding_window_view(closes, slow).sum(axis=1) / slow
    diff[slow - 1 :] = fast_mean - slow_mean
    doubtful = np.flatnonzero(np.abs(diff) <= 1e-9 * np.abs(closes))
    for i in doubtful.tolist():
        exact_fast = math.fsum(closes[i - fast + 1 : i + 1].tolist()) / fast
        diff[i] = exact_fast - math.fsum(closes[i - slow + 1 : i + 1].tolist()) / slow
    return diff
