"""Parity: our sma_cross backtest trades exactly like backtesting.py on real EUR/USD data."""

from pathlib import Path

import pandas as pd

from trading_bot.backtest.runner import run_backtest
from trading_bot.core.clock import ms_to_iso
from trading_bot.core.settings import (
    ExecutionSettings,
    PipelineSettings,
    PortfolioSettings,
    StrategySettings,
)
from trading_bot.data.files import load_candles
from trading_bot.testing.backtesting_py import peer_trades


def reference_trades(frame: pd.DataFrame) -> list[tuple[str, str, str, float, float]]:
    return [
        (
            "long" if row.Size > 0 else "short",
            row.EntryTime.strftime("%Y-%m-%dT%H:%M:%SZ"),
            row.ExitTime.strftime("%Y-%m-%dT%H:%M:%SZ"),
            float(row.EntryPrice),
            float(row.ExitPrice),
        )
        for row in peer_trades(frame, fast=10, slow=20).itertuples()
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
