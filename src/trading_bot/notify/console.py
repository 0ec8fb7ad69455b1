"""Console notifier: prints fills, trades, rejections and alerts as they happen.

The hub handlers only queue a line (no I/O on the trading path); an asyncio task prints.
"""

from __future__ import annotations

import asyncio
import os

import structlog
from rich.console import Console
from rich.markup import escape

from trading_bot.core.clock import ms_to_iso
from trading_bot.core.events import (
    DataGap,
    FeedEnded,
    OrderFilled,
    OrderRejected,
    PositionClosed,
    RiskLimitHit,
    TradingPaused,
    TradingResumed,
)
from trading_bot.core.hub import EventHub, Priority
from trading_bot.core.model import OrderRole

log = structlog.get_logger("trading_bot.notify.console")


class Terminal(Console):
    """A rich console that survives its reader going away (`trading-bot run | head`): rich's
    default exits the program; a trading bot must go on, so the output goes nowhere instead."""

    def on_broken_pipe(self) -> None:
        self.quiet = True
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, self.file.fileno())
        log.error("the console's reader went away; console output stops")


class ConsoleNotifier:
    def __init__(self, hub: EventHub, console: Console, max_backlog: int = 10_000) -> None:
        self.console = console
        self.queue: asyncio.Queue[str] = asyncio.Queue(max_backlog)
        self.dropped = 0
        self.broken = False
        hub.subscribe(OrderFilled, self._on_fill, Priority.NOTIFY)
        hub.subscribe(PositionClosed, self._on_trade, Priority.NOTIFY)
        hub.subscribe(OrderRejected, self._on_rejected, Priority.NOTIFY)
        hub.subscribe(RiskLimitHit, self._on_risk, Priority.NOTIFY)
        hub.subscribe(DataGap, self._on_gap, Priority.NOTIFY)
        hub.subscribe(FeedEnded, self._on_feed_ended, Priority.NOTIFY)
        hub.subscribe(TradingPaused, self._on_paused, Priority.NOTIFY)
        hub.subscribe(TradingResumed, self._on_resumed, Priority.NOTIFY)

    def _say(self, line: str) -> None:
        try:
            self.queue.put_nowait(line)
        except asyncio.QueueFull:
            self.dropped += 1

    def _on_fill(self, event: OrderFilled) -> None:
        f = event.fill
        why = f": {escape(f.reason)}" if f.role is OrderRole.ENTRY and f.reason else ""
        self._say(
            f"{ms_to_iso(f.time)}  [cyan]FILL[/]   {f.side.value:<4} {f.qty} {f.symbol} "
            f"@ {f.price}  ({f.role.value}, fee {f.fee:.4f}){why}"
        )

    def _on_trade(self, event: PositionClosed) -> None:
        t = event.trade
        colour = "green" if t.pnl > 0 else "red"
        self._say(
            f"{ms_to_iso(t.exit_time)}  [bold]TRADE[/]  {t.side.value:<5} {t.qty} {t.symbol} "
            f"{t.entry_price} -> {t.exit_price}  pnl [{colour}]{t.pnl:+.2f}[/]  ({t.exit_reason})"
        )

    def _on_rejected(self, event: OrderRejected) -> None:
        self._say(f"{ms_to_iso(event.time)}  [yellow]REJECTED[/] {event.symbol}: {event.reason}")

    def _on_risk(self, event: RiskLimitHit) -> None:
        self._say(f"{ms_to_iso(event.time)}  [bold red]RISK LIMIT[/] {event.limit}: {event.detail}")

    def _on_gap(self, event: DataGap) -> None:
        self._say(
            f"{ms_to_iso(event.after_open_time)}  [yellow]GAP[/] {event.symbol}: "
            f"{event.missing} candle(s) missing"
        )

    def _on_feed_ended(self, event: FeedEnded) -> None:
        self._say(
            f"[bold]{event.source} has delivered its last candle.[/] The bot stays up with its "
            "state intact; stop it with Ctrl-C or SIGTERM."
        )

    def _on_paused(self, event: TradingPaused) -> None:
        self._say(f"{ms_to_iso(event.time)}  [yellow]PAUSED[/] {event.reason}")

    def _on_resumed(self, event: TradingResumed) -> None:
        self._say(f"{ms_to_iso(event.time)}  [green]RESUMED[/]")

    def say_now(self, line: str) -> None:
        """Print at once (start-up and shutdown lines). A console that cannot be written to
        (a closed pipe, a full disk) is reported once and then left alone: it must never stop
        the bot."""
        if self.broken:
            return
        try:
            self.console.print(line, highlight=False)
        except OSError as exc:
            self.broken = True
            log.error("the console cannot be written to; console output stops", error=str(exc))

    async def run(self) -> None:
        while True:
            self.say_now(await self.queue.get())

    def drain(self) -> None:
        """Print what is still queued (at shutdown)."""
        while not self.queue.empty():
            self.say_now(self.queue.get_nowait())
