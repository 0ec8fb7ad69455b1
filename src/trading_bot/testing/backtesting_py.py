"""The peer our backtests are checked and benchmarked against: `sma_cross` in backtesting.py.

backtesting.py is a development dependency (`pip install trading-bot[dev]`).
"""

from __future__ import annotations

import warnings

import pandas as pd
from backtesting import Backtest, Strategy
from backtesting.lib import crossover


def sma(values: pd.Series, n: int) -> pd.Series:
    return pd.Series(values).rolling(n).mean()


class SmaCrossPeer(Strategy):  # type: ignore[misc]  # backtesting.py has no type hints
    """Our `sma_cross` rules: trade on the next bar's open; a cross into the side already held
    changes nothing (averages that touch exactly hide a cross, so two crosses the same way can
    follow each other)."""

    n_fast = 10
    n_slow = 20

    def init(self) -> None:
        self.fast = self.I(sma, self.data.Close, self.n_fast)
        self.slow = self.I(sma, self.data.Close, self.n_slow)

    def next(self) -> None:
        if crossover(self.fast, self.slow) and not self.position.is_long:
            self.position.close()
            self.buy()
        elif crossover(self.slow, self.fast) and not self.position.is_short:
            self.position.close()
            self.sell()


def peer_trades(frame: pd.DataFrame, fast: int, slow: int, cash: float = 1e6) -> pd.DataFrame:
    """backtesting.py's trades (EntryTime, ExitTime, EntryPrice, ExitPrice, Size, ...) for a
    candle frame in our format, open trades closed at the end (`finalize_trades=True`)."""
    data = frame.rename(columns=str.capitalize)[["Open", "High", "Low", "Close", "Volume"]]
    data.index = pd.DatetimeIndex(data.index).tz_localize(None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # its warnings about our data's gaps and index
        backtest = Backtest(data, SmaCrossPeer, cash=cash, commission=0, finalize_trades=True)
        stats = backtest.run(n_fast=fast, n_slow=slow)
    trades: pd.DataFrame = stats["_trades"].sort_values("EntryTime", kind="stable")
    return trades
