"""Parity: our sma_cross backtest trades exactly like backtesting.py on real EUR/USD data."""

from pathlib import Path

import pandas as pd
from backtesting import Backtest
from backtesting import Strategy as BtStrategy
from backtesting.lib import crossover

from trading_bot.backtest.runner import run_backtest
from trading_bot.core.clock import ms_to_iso
from trading_bot.core.settings import (
    ExecutionSettings,
    PipelineSettings,
    PortfolioSettings,
    StrategySettings,
)
from trading_bot.data.files import load_candles


def sma(values: pd.Series, n: int) -> pd.Series:
    return pd.Series(values).rolling(n).mean()


class SmaCross(BtStrategy):
    fast = 10
    slow = 20

    def init(self) -> None:
        self.sma_fast = self.I(sma, self.data.Close, self.fast)
        self.sma_slow = self.I(sma, self.data.Close, self.slow)

    def next(self) -> None:
        # Our rule: a cross into the side already held changes nothing. (Averages that touch
        # exactly hide a cross, so two crosses the same way can follow each other.)
        if crossover(self.sma_fast, self.sma_slow) and not self.position.is_long:
            self.position.close()
            self.buy()
        elif crossover(self.sma_slow, self.sma_fast) and not self.position.is_short:
            self.position.close()
            self.sell()


def reference_trades(frame: pd.DataFrame) -> list[tuple[str, str, str, float, float]]:
    data = frame.rename(columns=str.capitalize)[["Open", "High", "Low", "Close", "Volume"]]
    data.index = data.index.tz_localize(None)
    bt = Backtest(data, SmaCross, cash=1_000_000, commission=0, finalize_trades=True)
    stats = bt.run()
    trades = stats["_trades"].sort_values("EntryTime", kind="stable")
    return [
        (
            "long" if row.Size > 0 else "short",
            row.EntryTime.strftime("%Y-%m-%dT%H:%M:%SZ"),
            row.ExitTime.strftime("%Y-%m-%dT%H:%M:%SZ"),
            float(row.EntryPrice),
            float(row.ExitPrice),
        )
        for row in trades.itertuples()
    ]


def test_sma_cross_trades_like_backtesting_py_on_oanda_eurusd(shared_data: Path) -> None:
    frame = load_candles(shared_data / "oanda-EURUSD-1h.csv.gz")
    settings = PipelineSettings(
        strategy=StrategySettings(name="sma_cross", params={"fast": 10, "slow": 20}),
        execution=ExecutionSettings(fee_rate=0, slippage_bps=0),
        portfolio=PortfolioSettings(starting_cash=1_000_000),
    )
    result = run_backtest(frame, settings, "EUR/USD")
    ours = [
        (
            t.side.value,
            ms_to_iso(t.entry_time),
            ms_to_iso(t.exit_time),
            float(t.entry_price),
            float(t.exit_price),
        )
        for t in result.trades
    ]
    theirs = reference_trades(frame)
    assert len(ours) == len(theirs) > 1000
    # Every trade but the last: identical sides, times and prices.
    assert ours[:-1] == theirs[:-1]
    # The final forced close: same side, times and entry; only its exit price may differ.
    assert ours[-1][:4] == theirs[-1][:4]
    assert result.trades[-1].exit_reason == "end_of_backtest"
