"""Backtest throughput: trading-bot's sma_cross beside backtesting.py on the same candles.

Generates N synthetic 1-minute candles (default 1,000,000), runs the sma_cross backtest
(fast=10, slow=20, no fees) through our full event pipeline, then the equivalent strategy in
backtesting.py, and prints bars/second for both and the ratio. Run with `make bench`.
"""

from __future__ import annotations

import argparse
import time
import warnings

import pandas as pd
from backtesting import Backtest
from backtesting import Strategy as BtStrategy
from backtesting.lib import crossover
from rich.console import Console
from rich.table import Table

from trading_bot.backtest.runner import run_backtest
from trading_bot.core.settings import (
    ExecutionSettings,
    PipelineSettings,
    PortfolioSettings,
    StrategySettings,
)
from trading_bot.data.synthetic import generate_candles

MINUTE = 60_000
START_MS = 1_704_067_200_000  # 2024-01-01T00:00:00Z


def sma(values: pd.Series, n: int) -> pd.Series:
    return pd.Series(values).rolling(n).mean()


class BtSmaCross(BtStrategy):
    def init(self) -> None:
        self.fast = self.I(sma, self.data.Close, 10)
        self.slow = self.I(sma, self.data.Close, 20)

    def next(self) -> None:
        if crossover(self.fast, self.slow) and not self.position.is_long:
            self.position.close()
            self.buy()
        elif crossover(self.slow, self.fast) and not self.position.is_short:
            self.position.close()
            self.sell()


def run_ours(frame: pd.DataFrame) -> tuple[float, int]:
    settings = PipelineSettings(
        strategy=StrategySettings(name="sma_cross", params={"fast": 10, "slow": 20}),
        execution=ExecutionSettings(fee_rate=0, slippage_bps=0),
        portfolio=PortfolioSettings(starting_cash=1_000_000),
    )
    started = time.perf_counter()
    result = run_backtest(frame, settings, "SYN/USD")
    return time.perf_counter() - started, len(result.trades)


def run_backtesting_py(frame: pd.DataFrame) -> tuple[float, int]:
    data = frame.rename(columns=str.capitalize)[["Open", "High", "Low", "Close", "Volume"]]
    data.index = data.index.tz_localize(None)
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        stats = Backtest(data, BtSmaCross, cash=1_000_000, finalize_trades=True).run()
    return time.perf_counter() - started, len(stats["_trades"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bars", type=int, default=1_000_000, help="candles to generate")
    args = parser.parse_args()
    console = Console()
    frame = generate_candles(args.bars, MINUTE, seed=7, start_ms=START_MS)
    console.print(f"{len(frame):,} synthetic 1m candles (seed 7)")
    ours_s, ours_trades = run_ours(frame)
    console.print(f"trading-bot done in {ours_s:.1f} s")
    theirs_s, theirs_trades = run_backtesting_py(frame)
    console.print(f"backtesting.py done in {theirs_s:.1f} s")
    table = Table(title=f"sma_cross backtest, {len(frame):,} 1m candles")
    for column in ("engine", "seconds", "bars/s", "trades"):
        table.add_column(column, justify="right")
    table.add_row("trading-bot", f"{ours_s:.2f}", f"{len(frame) / ours_s:,.0f}", f"{ours_trades:,}")
    table.add_row(
        "backtesting.py", f"{theirs_s:.2f}", f"{len(frame) / theirs_s:,.0f}", f"{theirs_trades:,}"
    )
    console.print(table)
    console.print(f"trading-bot / backtesting.py throughput: {theirs_s / ours_s:.1f}x")


if __name__ == "__main__":
    main()
