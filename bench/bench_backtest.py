"""Backtest throughput: trading-bot's sma_cross beside backtesting.py on the same candles.

Generates N synthetic 1-minute candles (default 1,000,000), runs the sma_cross backtest (no
fees) through our full event pipeline, then the equivalent strategy in backtesting.py, and prints
bars/second for both and the ratio: once with fast=10/slow=20 (a trade every ~18 candles) and
once with 50/200 (ten times fewer trades). Run with `make bench`.
"""

from __future__ import annotations

import argparse
import time

import pandas as pd
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
from trading_bot.testing.backtesting_py import peer_trades

MINUTE = 60_000
START_MS = 1_704_067_200_000  # 2024-01-01T00:00:00Z


def run_ours(frame: pd.DataFrame, fast: int, slow: int) -> tuple[float, int]:
    settings = PipelineSettings(
        strategy=StrategySettings(name="sma_cross", params={"fast": fast, "slow": slow}),
        execution=ExecutionSettings(fee_rate=0, slippage_bps=0),
        portfolio=PortfolioSettings(starting_cash=1_000_000),
    )
    started = time.perf_counter()
    result = run_backtest(frame, settings, "SYN/USD")
    return time.perf_counter() - started, len(result.trades)


def run_backtesting_py(frame: pd.DataFrame, fast: int, slow: int) -> tuple[float, int]:
    started = time.perf_counter()
    trades = peer_trades(frame, fast, slow)
    return time.perf_counter() - started, len(trades)


# (fast, slow): the benchmark the README quotes, and slower averages that trade ten times less.
SCENARIOS = ((10, 20), (50, 200))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bars", type=int, default=1_000_000, help="candles to generate")
    args = parser.parse_args()
    console = Console()
    frame = generate_candles(args.bars, MINUTE, seed=7, start_ms=START_MS)
    table = Table(title=f"sma_cross backtests on {len(frame):,} synthetic 1m candles (seed 7)")
    for column in ("fast/slow", "engine", "seconds", "bars/s", "trades", "speed-up"):
        table.add_column(column, justify="right")
    for fast, slow in SCENARIOS:
        ours_s, ours_trades = run_ours(frame, fast, slow)
        theirs_s, theirs_trades = run_backtesting_py(frame, fast, slow)
        console.print(f"{fast}/{slow}: trading-bot {ours_s:.1f} s, backtesting.py {theirs_s:.1f} s")
        for engine, seconds, trades in (
            ("trading-bot", ours_s, ours_trades),
            ("backtesting.py", theirs_s, theirs_trades),
        ):
            speedup = f"{theirs_s / ours_s:.1f}x" if engine == "trading-bot" else ""
            table.add_row(
                f"{fast}/{slow}",
                engine,
                f"{seconds:.2f}",
                f"{len(frame) / seconds:,.0f}",
                f"{trades:,}",
                speedup,
            )
    console.print(table)


if __name__ == "__main__":
    main()
