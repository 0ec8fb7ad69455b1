"""The reference strategy: a simple moving average crossover, always in the market once the
averages have crossed, long above and short below."""

from __future__ import annotations

import math
from collections import deque
from typing import Any

from pydantic import Field, model_validator

from trading_bot.core.model import Candle, Direction, Signal
from trading_bot.strategies.base import Strategy, StrategyParams


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
    backtesting.py's `crossover`), so touching averages do not trade.
    """

    name = "sma_cross"
    Params = SmaCrossParams

    def __init__(self, params: StrategyParams, symbol: str, timeframe_ms: int) -> None:
        super().__init__(params, symbol, timeframe_ms)
        assert isinstance(params, SmaCrossParams)
        self.fast = params.fast
        self.slow = params.slow
        self.closes: deque[float] = deque(maxlen=params.slow)
        self.prev_diff: float | None = None

    def on_candle(self, candle: Candle) -> Signal | None:
        closes = self.closes
        closes.append(candle.close)
        if len(closes) < self.slow:
            return None
        slow = math.fsum(closes) / self.slow
        fast = math.fsum(list(closes)[-self.fast :]) / self.fast
        prev, self.prev_diff = self.prev_diff, fast - slow
        if prev is None:
            return None
        if prev < 0 < fast - slow:
            direction = Direction.LONG
        elif prev > 0 > fast - slow:
            direction = Direction.SHORT
        else:
            return None
        if direction is self.position:
            return None
        return Signal(candle.symbol, direction, candle.close_time, candle.close, reason="sma cross")

    def state(self) -> dict[str, Any]:
        return {"closes": list(self.closes), "prev_diff": self.prev_diff}

    def restore(self, state: dict[str, Any]) -> None:
        self.closes.extend(float(c) for c in state.get("closes", []))
        prev = state.get("prev_diff")
        self.prev_diff = None if prev is None else float(prev)
