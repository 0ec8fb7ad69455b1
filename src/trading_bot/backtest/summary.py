"""The terminal summary of a backtest: its metrics, and its last trades.

The trades table is made to read in an 80-column terminal: minute times without the seconds and
zone (all times are UTC), prices to at most `PRICE_DIGITS` significant digits with one number of
decimals per column, PnL to the cent. A terminal of `WIDE` columns or more also gets the exit
time and the quantity. The formatters are shared with the HTML report.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from trading_bot.backtest.result import SYNTHETIC_LABEL, BacktestResult
from trading_bot.core.clock import ms_to_datetime
from trading_bot.core.model import Trade

LAST_TRADES = 10
PRICE_DIGITS = 7
"""Significant digits of a price at most: 65000.12, 1.09314, 0.00001234 are shown whole."""
WIDE = 110
"""Terminal columns from which the trades table adds the exit time and the quantity."""


def print_summary(result: BacktestResult, console: Console) -> None:
    title = Text(result.headline, style="bold")
    if result.synthetic:
        title.append("  ").append(f" {SYNTHETIC_LABEL} ", style="bold white on red")
    caption = f"[bold white on red] {SYNTHETIC_LABEL} [/]" if result.synthetic else None
    # Text, not markup: names, parameters and exit reasons may hold brackets.
    overview = Table(title=title, caption=caption, show_header=False)
    overview.add_column(style="bold")
    overview.add_column(justify="right")
    for label, text in result.summary_rows():
        overview.add_row(label, text)
    console.print(overview)

    if not result.trades:
        console.print("No trades.")
        return
    console.print(trades_table(result.trades[-LAST_TRADES:], len(result.trades), console.width))


def trades_table(shown: list[Trade], total: int, width: int) -> Table:
    """The last trades, `shown` of `total`, laid out for a terminal `width` columns wide."""
    wide = width >= WIDE
    table = Table(
        title=f"Last {len(shown)} of {total:,} trades (UTC)",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
        collapse_padding=True,
    )
    # Narrow: the entry time and how long the trade was held stand for the exit time, and the
    # price columns drop the word "price", for 80 columns to hold a trade ending "end_of_backtest".
    columns = ["side", "entry time", *(["exit time"] if wide else []), "held"]
    columns += ["entry price", "exit price", "qty"] if wide else ["entry", "exit"]
    columns += ["pnl", "reason"]
    for name in columns:
        if name == "reason":  # the one column that gives way if the terminal is narrower still
            table.add_column(name, overflow="fold", min_width=6)
        else:
            left = name in ("side", "entry time", "exit time")
            table.add_column(name, justify="left" if left else "right", no_wrap=True)
    decimals = price_decimals(p for trade in shown for p in (trade.entry_price, trade.exit_price))
    qty_decimals = price_decimals(trade.qty for trade in shown)
    for trade in shown:
        colour = "green" if trade.pnl > 0 else "red" if trade.pnl < 0 else ""
        cells: list[str | Text] = [trade.side.value, short_time(trade.entry_time)]
        if wide:
            cells.append(short_time(trade.exit_time))
        cells += [
            duration(trade.exit_time - trade.entry_time),
            format_price(trade.entry_price, decimals),
            format_price(trade.exit_price, decimals),
        ]
        if wide:
            cells.append(format_price(trade.qty, qty_decimals))
        cells += [Text(format_pnl(trade.pnl), style=colour), Text(trade.exit_reason)]
        table.add_row(*cells)
    return table


def short_time(ms: int) -> str:
    """`2021-07-18 21:00`: UTC to the minute, which is what a bar time needs."""
    return ms_to_datetime(ms).strftime("%Y-%m-%d %H:%M")


def duration(ms: int) -> str:
    """A holding time in its two largest units: `45s`, `13m`, `9h 30m`, `2d 4h`."""
    seconds = max(ms, 0) // 1000
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, secs = divmod(rest, 60)
    parts = [(days, "d"), (hours, "h"), (minutes, "m"), (secs, "s")]
    first = next((i for i, (count, _) in enumerate(parts) if count), len(parts) - 1)
    return " ".join(f"{count}{unit}" for count, unit in parts[first : first + 2] if count) or "0s"


def price_decimals(prices: Iterable[Decimal], digits: int = PRICE_DIGITS) -> int:
    """Decimals to print a column of `prices` with: as many as the most precise price needs to
    show `digits` significant digits, but none past the digits the prices have (65000 stays
    65000, 0.00001234 is not padded to 0.0000123400)."""
    decimals = 0
    for price in prices:
        if not price.is_finite() or not price:
            continue
        exponent = price.normalize().as_tuple().exponent
        assert isinstance(exponent, int)  # a finite number's exponent
        written = max(-exponent, 0)
        significant = max(digits - 1 - price.adjusted(), 0)
        decimals = max(decimals, min(written, significant))
    return decimals


def format_price(price: Decimal, decimals: int) -> str:
    return f"{price:.{decimals}f}" if price.is_finite() else str(price)


def format_pnl(pnl: Decimal) -> str:
    """Signed, with thousands separators, to the cent: `+1,234.57`, `-0.52`."""
    return f"{pnl:+,.2f}" if pnl.is_finite() else str(pnl)
