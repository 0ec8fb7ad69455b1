"""Instrument rules for data that comes without them (candle files, the synthetic sample)."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pandas as pd

from trading_bot.core.model import Instrument
from trading_bot.core.settings import InstrumentSettings


def price_decimals(frame: pd.DataFrame, limit: int = 8) -> int:
    """The fewest decimals that write every price of the frame exactly (checked on a sample)."""
    sample = frame[["open", "high", "low", "close"]].to_numpy()[:20_000].ravel()
    for decimals in range(limit + 1):
        scaled = sample * 10**decimals
        if np.all(np.abs(scaled - np.round(scaled)) < 1e-6 * np.maximum(1.0, np.abs(scaled))):
            return decimals
    return limit


def instrument_for(symbol: str, frame: pd.DataFrame, settings: InstrumentSettings) -> Instrument:
    """The configured rules, with a finer tick when the data has more decimals than it allows."""
    tick = min(settings.tick_size, Decimal(1).scaleb(-price_decimals(frame)))
    return Instrument(
        symbol, tick, settings.lot_step, settings.min_qty, settings.min_notional, settings.spot
    )
