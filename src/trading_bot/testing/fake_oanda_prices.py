"""The fake OANDA's market: candle frames made into prices, and the v20 shapes built of them.

Each candle becomes four prices a quarter of the candle apart, in a fixed order: open, then low
and high (high first on a falling candle), then close; bid and ask lie half the spread (OANDA's
`spread` column, if any) either side of the mid. Prices are integers of 1e-6, so the mid of bid
and ask is exact and the candles endpoint rebuilds candles from exactly the prices streamed.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd

from trading_bot.data.files import frame_to_arrays, infer_timeframe_ms
from trading_bot.data.instruments import price_decimals

PRICES_PER_CANDLE = 4
UNIT = 1_000_000  # prices are kept as integers of 1e-6
DEFAULT_SPREAD = 0.00014
GRANULARITY_S = {
    **{"S5": 5, "S10": 10, "S15": 15, "S30": 30, "M1": 60, "M2": 120, "M4": 240, "M5": 300},
    **{"M10": 600, "M15": 900, "M30": 1800, "H1": 3600, "H2": 7200, "H3": 10800},
    **{"H4": 14400, "H6": 21600, "H8": 28800, "H12": 43200, "D": 86400},
}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)


class PriceSeries:
    """One instrument's prices: times (ms), mid and half spread as integers of 1e-6."""

    def __init__(self, symbol: str, frame: pd.DataFrame) -> None:
        self.name = symbol.replace("/", "_")
        self.decimals = max(5, price_decimals(frame))
        times, opens, highs, lows, closes, _ = frame_to_arrays(frame)
        tf = infer_timeframe_ms(frame)
        if tf % PRICES_PER_CANDLE:
            raise ValueError("candles must last a multiple of 4 ms")
        spreads = (
            frame["spread"].to_numpy(dtype=np.float64)
            if "spread" in frame
            else np.full(len(times), DEFAULT_SPREAD)
        )
        up = closes >= opens
        order = np.stack(
            [opens, np.where(up, lows, highs), np.where(up, highs, lows), closes], axis=1
        )
        self.times = (times[:, None] + np.arange(PRICES_PER_CANDLE) * (tf // 4)).ravel()
        self.mids = np.rint(order.ravel() * UNIT).astype(np.int64)
        half = np.rint(np.nan_to_num(spreads, nan=DEFAULT_SPREAD) * UNIT / 2).astype(np.int64)
        self.halves = np.repeat(half, PRICES_PER_CANDLE)
        self.ends = times + tf  # when each source candle is over
        self.shown = 0  # prices [0, shown) have happened

    def price(self, i: int, component: str) -> int:
        mid = int(self.mids[i])
        half = int(self.halves[i])
        return {"mid": mid, "bid": mid - half, "ask": mid + half}[component]

    def text(self, units: int) -> str:
        return f"{Decimal(units).scaleb(-6):.{self.decimals}f}"


def components(price: str) -> list[str] | None:
    names = {"M": "mid", "B": "bid", "A": "ask"}
    if not price or any(p not in names for p in price):
        return None
    return [names[p] for p in price]


def instrument_json(series: PriceSeries) -> dict[str, Any]:
    base, _, quote = series.name.partition("_")
    return {
        "name": series.name,
        "type": "CURRENCY",
        "displayName": f"{base}/{quote}",
        "pipLocation": -4,
        "displayPrecision": series.decimals,
        "tradeUnitsPrecision": 0,
        "minimumTradeSize": "1",
        "maximumTrailingStopDistance": "1.00000",
        "minimumTrailingStopDistance": "0.00050",
        "maximumPositionSize": "0",
        "maximumOrderUnits": "100000000",
        "marginRate": "0.0333",
        "guaranteedStopLossOrderMode": "DISABLED",
        "tags": [{"type": "ASSET_CLASS", "name": "CURRENCY"}],
    }


def parse_time(text: str) -> int:
    """An RFC 3339 or UNIX (seconds, fractional) time, as OANDA accepts both."""
    try:
        return round(float(text) * 1000)
    except ValueError:
        value = datetime.fromisoformat(text)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return (value - _EPOCH) // _MS
