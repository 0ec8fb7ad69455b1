from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import pytest
from rich.console import Console

from trading_bot.backtest.result import SYNTHETIC_LABEL, BacktestResult
from trading_bot.backtest.summary import (
    duration,
    format_pnl,
    format_price,
    price_decimals,
    print_summary,
    short_time,
)
from trading_bot.core.model import Direction, Trade

ResultFactory = Callable[..., BacktestResult]
TradeFactory = Callable[..., Trade]

T0 = 1_609_459_200_000  # 2021-01-01T00:00:00Z
HOUR = 3_600_000


def printed(result: BacktestResult, width: int = 140) -> str:
    console = Console(record=True, width=width)
    print_summary(result, console)
    return console.export_text()


def trades_part(text: str) -> list[str]:
    """The lines of the trades table, from its title on."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if "trades (UTC)" in line)
    return lines[start:]


def priced_trade(
    entry: str, exit_: str, pnl: str, qty: str = "0.5", reason: str = "sma cross"
) -> Trade:
    return Trade(
        symbol="X",
        side=Direction.SHORT,
        entry_time=T0 + 5 * HOUR,
        exit_time=T0 + 2 * 24 * HOUR + 8 * HOUR + 30 * 60_000,
        entry_price=Decimal(entry),
        exit_price=Decimal(exit_),
        qty=Decimal(qty),
        pnl=Decimal(pnl),
        fees=Decimal("0.1"),
        exit_reason=reason,
    )


def test_summary_shows_metrics_run_figures_and_the_last_ten_trades(
    make_result: ResultFactory, make_trade: TradeFactory
) -> None:
    trades = [make_trade(str(i - 5), exit_reason=f"[reason-{i:02d}]") for i in range(12)]
    text = printed(make_result([100.0, 96.0, 103.0], trades, synthetic=True))
    assert "sma_cross(fast=10, slow=30) · BTCUSDT 1h" in text
    # The label is on the title line, the first thing read, not only under the table.
    assert SYNTHETIC_LABEL in text.splitlines()[0]
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


def test_trades_read_whole_in_80_columns(make_result: ResultFactory) -> None:
    trades = [
        priced_trade("65000.12", "64123.5", "-1234.5678", reason="end_of_backtest"),
        priced_trade("65000", "65100", "50.004"),
    ]
    table = trades_part(printed(make_result([100.0, 101.0], trades), width=80))
    assert all(len(line) <= 80 for line in table)
    assert not any("…" in line for line in table)
    header = table[1].split()
    assert header == ["side", "entry", "time", "held", "entry", "exit", "pnl", "reason"]
    first, second = table[3], table[4]
    # One line per trade: short UTC time, holding time, one number of decimals per column,
    # PnL to the cent, the whole exit reason.
    assert first.split() == [
        "short",
        "2021-01-01",
        "05:00",
        "2d",
        "3h",
        "65000.12",
        "64123.50",
        "-1,234.57",
        "end_of_backtest",
    ]
    assert second.split()[5:] == ["65000.00", "65100.00", "+50.00", "sma", "cross"]


def test_a_wide_terminal_also_shows_exit_time_and_quantity(make_result: ResultFactory) -> None:
    trades = [priced_trade("0.00001234", "0.00001301", "12.3", qty="1500000")]
    table = trades_part(printed(make_result([100.0, 101.0], trades), width=140))
    assert table[1].split() == [
        "side",
        "entry",
        "time",
        "exit",
        "time",
        "held",
        "entry",
        "price",
        "exit",
        "price",
        "qty",
        "pnl",
        "reason",
    ]
    cells = table[3].split()
    assert cells[1:5] == ["2021-01-01", "05:00", "2021-01-03", "08:30"]
    assert cells[7:11] == ["0.00001234", "0.00001301", "1500000", "+12.30"]


@pytest.mark.parametrize(
    ("prices", "expected"),
    [
        (["65000"], ["65000"]),
        (["65000", "65000.5"], ["65000.0", "65000.5"]),
        (["32808.16", "33324.49"], ["32808.16", "33324.49"]),
        (["1.09314", "1.1"], ["1.09314", "1.10000"]),
        (["0.00001234"], ["0.00001234"]),
        # No more than 7 significant digits, whatever arithmetic left in the Decimal.
        (["31322.8300000001"], ["31322.83"]),
        (["0.0000123456789"], ["0.00001234568"]),
        (["1234567.891"], ["1234568"]),
        (["0", "-2.5"], ["0.0", "-2.5"]),
    ],
)
def test_prices_keep_their_significant_digits(prices: list[str], expected: list[str]) -> None:
    values = [Decimal(price) for price in prices]
    decimals = price_decimals(values)
    assert [format_price(value, decimals) for value in values] == expected


def test_pnl_times_and_holding_times_are_short() -> None:
    assert format_pnl(Decimal("17.0174598300000")) == "+17.02"
    assert format_pnl(Decimal("-24.602854")) == "-24.60"
    assert format_pnl(Decimal("12345.678")) == "+12,345.68"
    assert short_time(T0 + 21 * HOUR + 59_999) == "2021-01-01 21:00"
    assert duration(45_000) == "45s"
    assert duration(13 * 60_000) == "13m"
    assert duration(9 * HOUR + 30 * 60_000) == "9h 30m"
    assert duration(24 * HOUR) == "1d"
    assert duration(2 * 24 * HOUR + 4 * HOUR + 59 * 60_000) == "2d 4h"
    assert duration(0) == "0s"
