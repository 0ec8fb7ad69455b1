"""Backtests of the `ict` strategy (default parameters) on every data set in ../shared/data.

Prints the results table the README quotes: return, drawdown, trades, win rate and profit
factor per data set. Forex sets use the 17:00 New York trading day and a fee of 1 bp; crypto
sets UTC days and 10 bp. Run with `.venv/bin/python bench/ict_backtests.py`.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from trading_bot.backtest.result import BacktestResult
from trading_bot.backtest.runner import run_backtest
from trading_bot.core.settings import ExecutionSettings, PipelineSettings, StrategySettings
from trading_bot.data.files import load_candles

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def backtest(path: Path) -> BacktestResult:
    forex = "EURUSD" in path.name
    settings = PipelineSettings(
        strategy=StrategySettings(name="ict", params={"trading_day": "forex" if forex else "utc"}),
        execution=ExecutionSettings(fee_rate=0.0001 if forex else 0.001),
    )
    return run_backtest(load_candles(path), settings, path.name.split(".")[0])


def number(value: float, spec: str) -> str:
    return "n/a" if math.isnan(value) else "∞" if math.isinf(value) else format(value, spec)


def main() -> None:
    console = Console(soft_wrap=True)
    table = Table(title="ict (default parameters) on ../shared/data")
    for column in ("data set", "bars", "fee", "return", "max DD", "trades", "win rate", "PF"):
        table.add_column(column, justify="right")
    markdown = [
        "| data set | bars | fee | return | max drawdown | trades | win rate | profit factor |"
    ]
    markdown.append("|---|---:|---:|---:|---:|---:|---:|---:|")
    started = time.perf_counter()
    for path in sorted(DATA.glob("*.csv.gz")):
        result = backtest(path)
        m = result.metrics
        fee = "1 bp" if "EURUSD" in path.name else "10 bp"
        row = [
            path.name.split(".")[0],
            f"{result.bars:,}",
            fee,
            f"{m.total_return_pct:+.2f}%",
            f"{m.max_drawdown_pct:.2f}%",
            str(m.trades),
            number(m.win_rate_pct, ".0f") + "%",
            number(m.profit_factor, ".2f"),
        ]
        table.add_row(*row)
        markdown.append("| " + " | ".join(row) + " |")
    console.print(table)
    console.print(f"{time.perf_counter() - started:.1f} s in all\n")
    console.print("\n".join(markdown), markup=False, highlight=False)


if __name__ == "__main__":
    main()
