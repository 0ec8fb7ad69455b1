"""A test strategy: sma_cross's long entries with a stop and a target, so that live runs place
brackets (loaded by path, as a user's own strategy would be)."""

from __future__ import annotations

from dataclasses import replace

import pandas as pd

from trading_bot.core.model import Candle, Direction, Signal
from trading_bot.strategies.sma_cross import SmaCross

BAND = 0.004  # stop and target this far from the entry


class BracketedCross(SmaCross):
    name = "bracketed_cross"

    def on_candle(self, candle: Candle) -> Signal | None:
        signal = super().on_candle(candle)
        if signal is None or signal.direction is not Direction.LONG:
            return signal
        close = candle.close
        return replace(signal, stop_loss=close * (1 - BAND), take_profit=close * (1 + BAND))

    def batch_signals(self, frame: pd.DataFrame) -> None:
        return None  # no batch form: every candle goes through on_candle
