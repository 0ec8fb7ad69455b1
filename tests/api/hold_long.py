"""A test strategy that wants to be long on every candle and never exits by itself, so that
only a command closes its position (loaded by path, as a user's own strategy would be)."""

from __future__ import annotations

import pandas as pd

from trading_bot.core.model import Candle, Direction, Signal
from trading_bot.strategies.sma_cross import SmaCross


class HoldLong(SmaCross):
    name = "hold_long"

    def on_candle(self, candle: Candle) -> Signal | None:
        return Signal(candle.symbol, Direction.LONG, candle.close_time, candle.close, reason="hold")

    def batch_signals(self, frame: pd.DataFrame) -> None:
        return None  # no batch form: every candle goes through on_candle
