from __future__ import annotations

from collections.abc import Callable

from rich.console import Console

from trading_bot.backtest.result import SYNTHETIC_LABEL, BacktestResult
from trading_bot.backtest.summary import print_summary
from trading_bot.core.model import Trade

ResultFactory = Callable[..., BacktestResult]
TradeFactory = Callable[..., Trade]


def printed(result: BacktestResult) -> str:
    console = Console(record=True, width=140)
    print_summary(result, console)
    return console.export_text()


def test_summary_shows_metrics_run_figures_and_the_last_ten_trades(
    make_result: ResultFactory, make_trade: TradeFactory
) -> None:
    trades = [make_trade(str(i - 5), exit_reason=f"[reason-{i:02d}]") for i in range(12)]
    text = printed(make_result([100.0, 96.0, 103.0], trades, synthetic=True))
    assert "sma_cross(fast=10, slow=30) · BTCUSDT 1h" in text
    assert SYNTHETIC_LABEL in text
    for label in ("Total return", "Sharpe", "Max drawdown", "Profit factor", "Exposure"):
        assert label in text
    assert "+3.00%" in text  # total return
    assert "4.00%" in text  # max drawdown, 100 -> 96
    assert "12 bars/s" in text  # 3 bars in 0.25 s
    assert "Last 10 of 12 trades" in text
    assert "reason-00" not in text and "reason-01" not in text
    # Printed as text: brackets in an exit reason are not taken for rich markup.
    assert all(f"[reason-{i:02d}]" in text for i in range(2, 12))


def test_summary_without_trades_or_synthetic_data(make_result: ResultFactory) -> None:
    text = printed(make_result([100.0, 100.0]))
    assert "No trades." in text
    assert SYNTHETIC_LABEL not in text
    assert "n/a" in text  # profit factor of no trades
