"""The terminal summary of a backtest: its metrics, and its last trades."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text

from trading_bot.backtest.result import SYNTHETIC_LABEL, BacktestResult
from trading_bot.core.clock import ms_to_iso

LAST_TRADES = 10


def print_summary(result: BacktestResult, console: Console) -> None:
    caption = f"[bold white on red] {SYNTHETIC_LABEL} [/]" if result.synthetic else None
    # Text, not markup: names, parameters and exit reasons may hold brackets.
    overview = Table(title=Text(result.headline), caption=caption, show_header=False)
    overview.add_column(style="bold")
    overview.add_column(justify="right")
    for label, text in result.summary_rows():
        overview.add_row(label, text)
    console.print(overview)

    if not result.trades:
        console.print("No trades.")
        return
    shown = result.trades[-LAST_TRADES:]
    trades = Table(title=f"Last {len(shown)} of {len(result.trades)} trades")
    for name in ("side", "entry", "exit", "entry price", "exit price", "qty", "pnl", "reason"):
        trades.add_column(name, justify="left" if name in ("side", "reason") else "right")
    for trade in shown:
        colour = "green" if trade.pnl > 0 else "red" if trade.pnl < 0 else ""
        trades.add_row(
            trade.side.value,
            ms_to_iso(trade.entry_time),
            ms_to_iso(trade.exit_time),
            str(trade.entry_price),
            str(trade.exit_price),
            str(trade.qty),
            Text(str(trade.pnl), style=colour),
            Text(trade.exit_reason),
        )
    console.print(trades)
