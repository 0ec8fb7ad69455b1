"""One control service for every face of the bot: Telegram commands, the HTTP API and the
dashboard call these methods, so that each answers alike and obeys alike (Freqtrade keeps one
RPC layer under Telegram and its API for the same reason).

Queries return plain frozen dataclasses that each face formats its own way; commands act
through the pipeline's own components, so a /pause from a phone is the same pause as SIGUSR1,
and a /close the same market exit the risk manager would ask for. Reading trades touches the
database, so those queries are coroutines that read in a worker thread.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict, deque
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Protocol

from trading_bot import __version__
from trading_bot.config import Settings
from trading_bot.core.clock import Clock
from trading_bot.core.events import FeedRestored, FeedStale
from trading_bot.core.hub import Priority
from trading_bot.core.model import Candle, Direction, Trade
from trading_bot.data.timeframes import format_timeframe
from trading_bot.pipeline import Pipeline, request_flatten
from trading_bot.services.scheduler import TaskInfo
from trading_bot.storage import StateStore

CONTROL_REASON = "by command"


class ControlError(Exception):
    """A command that cannot be carried out as asked; the message says why, for people."""


class ControlledBot(Protocol):
    """What the control service needs of the running bot (`TradingApp`)."""

    settings: Settings
    pipeline: Pipeline
    store: StateStore
    clock: Clock
    symbol: str
    timeframe: int

    def request_stop(self) -> None: ...

    def reload(self) -> None: ...

    @property
    def synthetic(self) -> bool:
        """Whether the candles are the generated sample, which every face must say."""
        ...

    def describe_venue(self) -> str: ...

    def scheduled_tasks(self) -> list[TaskInfo]:
        """The periodic services' tasks: runs, errors, last and next run."""
        ...


@dataclass(frozen=True, slots=True)
class Status:
    name: str
    version: str
    mode: str
    venue: str
    symbol: str  # the configured one
    symbols: tuple[str, ...]  # every traded symbol (more with a dynamic universe)
    timeframe: str
    strategy: str
    paused: bool
    pause_reason: str
    uptime_s: float
    equity: float
    cash: float
    open_positions: int
    last_candle_time: int | None
    stale_feeds: tuple[str, ...]
    synthetic: bool


@dataclass(frozen=True, slots=True)
class Balance:
    starting_cash: float
    cash: float
    equity: float
    realized_pnl: float
    fees_paid: float


@dataclass(frozen=True, slots=True)
class PositionView:
    symbol: str
    side: str
    qty: Decimal
    avg_price: Decimal
    last_price: float
    unrealized_pnl: float
    opened_time: int
    entry_reason: str


@dataclass(frozen=True, slots=True)
class Profit:
    trades: int
    wins: int
    realized_pnl: float
    fees: float
    best: float | None
    worst: float | None
    profit_factor: float | None
    return_pct: float

    @property
    def win_rate(self) -> float | None:
        return None if not self.trades else self.wins / self.trades


@dataclass(frozen=True, slots=True)
class DayPnl:
    day: str  # YYYY-MM-DD, UTC
    trades: int
    pnl: float


@dataclass(frozen=True, slots=True)
class ReasonPerformance:
    reason: str
    trades: int
    wins: int
    pnl: float


@dataclass(frozen=True, slots=True)
class Health:
    healthy: bool
    problems: tuple[str, ...]
    last_candle_age_s: float | None
    handler_failures: int


class BotControl:
    """The bot's controls and views; build it once the app (and its pipeline) exists."""

    def __init__(self, bot: ControlledBot) -> None:
        self.bot = bot
        self.started = time.monotonic()
        self._stale: dict[str, str] = {}  # source -> what it is doing about it
        bot.pipeline.hub.subscribe(FeedStale, self._on_stale, Priority.NOTIFY)
        bot.pipeline.hub.subscribe(FeedRestored, self._on_restored, Priority.NOTIFY)

    # -- views --------------------------------------------------------------------------------

    def status(self) -> Status:
        bot, p = self.bot, self.bot.pipeline
        return Status(
            name=bot.settings.bot.name,
            version=__version__,
            mode=bot.settings.bot.mode,
            venue=bot.describe_venue(),
            symbol=bot.symbol,
            symbols=tuple(p.strategy_host.strategies),
            timeframe=format_timeframe(bot.timeframe),
            strategy=p.strategy.name,
            paused=p.risk.paused,
            pause_reason=p.risk.pause_reason,
            uptime_s=time.monotonic() - self.started,
            equity=p.portfolio.equity,
            cash=float(p.portfolio.cash),
            open_positions=p.portfolio.open_position_count(),
            last_candle_time=p.processor.last_closed_time(bot.symbol, bot.timeframe),
            stale_feeds=tuple(sorted(self._stale)),
            synthetic=bot.synthetic,
        )

    def balance(self) -> Balance:
        portfolio = self.bot.pipeline.portfolio
        return Balance(
            starting_cash=self.bot.settings.portfolio.starting_cash,
            cash=float(portfolio.cash),
            equity=portfolio.equity,
            realized_pnl=float(portfolio.realized_pnl),
            fees_paid=float(portfolio.fees_paid),
        )

    def positions(self) -> list[PositionView]:
        return [
            PositionView(
                symbol=p.symbol,
                side=p.direction.value,
                qty=p.qty,
                avg_price=p.avg_price,
                last_price=p.last_price,
                unrealized_pnl=p.unrealized_pnl,
                opened_time=p.opened_time,
                entry_reason=p.entry_reason,
            )
            for p in self.bot.pipeline.portfolio.open_positions()
        ]

    async def trades(self, limit: int = 10) -> list[Trade]:
        """The latest `limit` closed trades, oldest first."""
        if limit < 1:
            raise ControlError("the number of trades must be at least 1")
        return await asyncio.to_thread(self.bot.store.load_trades, limit)

    async def profit(self) -> Profit:
        trades = await asyncio.to_thread(self.bot.store.load_trades)
        pnls = [float(t.pnl) for t in trades]
        gains = sum(x for x in pnls if x > 0)
        losses = -sum(x for x in pnls if x < 0)
        start = self.bot.settings.portfolio.starting_cash
        return Profit(
            trades=len(pnls),
            wins=sum(1 for x in pnls if x > 0),
            realized_pnl=sum(pnls),
            fees=sum(float(t.fees) for t in trades),
            best=max(pnls, default=None),
            worst=min(pnls, default=None),
            profit_factor=gains / losses if losses else None,
            return_pct=(self.bot.pipeline.portfolio.equity / start - 1) * 100,
        )

    async def daily(self, days: int = 7) -> list[DayPnl]:
        """Realized PnL of each of the last `days` UTC days (by exit time), newest first; days
        without trades show 0."""
        if not 1 <= days <= 366:
            raise ControlError("the number of days must be between 1 and 366")
        trades = await asyncio.to_thread(self.bot.store.load_trades)
        by_day: dict[str, list[float]] = defaultdict(list)
        for trade in trades:
            by_day[_day(trade.exit_time)].append(float(trade.pnl))
        today = datetime.fromtimestamp(self.bot.clock.now_ms() / 1000, UTC).date()
        out = []
        for back in range(days):
            key = date.fromordinal(today.toordinal() - back).isoformat()
            pnls = by_day.get(key, [])
            out.append(DayPnl(key, len(pnls), sum(pnls)))
        return out

    async def performance(self) -> list[ReasonPerformance]:
        """Closed trades by the reason that opened them, best first."""
        trades = await asyncio.to_thread(self.bot.store.load_trades)
        groups: dict[str, list[float]] = defaultdict(list)
        for trade in trades:
            groups[trade.entry_reason or "(none)"].append(float(trade.pnl))
        rows = [
            ReasonPerformance(reason, len(p), sum(1 for x in p if x > 0), sum(p))
            for reason, p in groups.items()
        ]
        return sorted(rows, key=lambda row: row.pnl, reverse=True)

    def scheduled(self) -> list[TaskInfo]:
        """Each periodic task (news, calendar, scanner, housekeeping): runs, errors, times."""
        return self.bot.scheduled_tasks()

    def candles(self, symbol: str | None = None) -> list[Candle]:
        """A traded symbol's latest closed candles (up to the DataProcessor's history); the
        configured symbol's by default."""
        bot = self.bot
        traded = bot.pipeline.strategy_host.strategies
        symbol = symbol or bot.symbol
        if symbol not in traded:
            raise ControlError(f"{symbol} is not traded now (traded: {', '.join(traded)})")
        return bot.pipeline.processor.recent(symbol, bot.timeframe)

    def health(self) -> Health:
        bot, p = self.bot, self.bot.pipeline
        problems = [f"{source}: {doing}" for source, doing in sorted(self._stale.items())]
        last = p.processor.last_closed_time(bot.symbol, bot.timeframe)
        age = None
        if last is not None:
            age = (bot.clock.now_ms() - (last + bot.timeframe)) / 1000
            if age > 3 * bot.timeframe / 1000 + 60:
                problems.append(f"no closed candle for {age:,.0f} s")
        failures = sum(p.hub.failures.values())
        return Health(not problems, tuple(problems), age, failures)

    def logs(self, lines: int = 20) -> list[str]:
        """The last `lines` lines of the JSON log file."""
        if not 1 <= lines <= 500:
            raise ControlError("the number of log lines must be between 1 and 500")
        path = self.bot.settings.logging.file
        if path is None:
            raise ControlError("no log file is configured (logging.file)")
        return _tail(Path(path), lines)

    # -- commands -----------------------------------------------------------------------------

    def pause(self, who: str) -> bool:
        """No new entries; False if it was paused already."""
        risk = self.bot.pipeline.risk
        if risk.paused:
            return False
        risk.pause(f"{CONTROL_REASON} ({who})")
        return True

    def resume(self) -> bool:
        """New entries again; False if it was not paused."""
        risk = self.bot.pipeline.risk
        if not risk.paused:
            return False
        risk.resume()
        return True

    def close(self, target: str, who: str) -> str:
        """Close the position in a symbol (its orders cancelled, a market exit), or cancel one
        open order by its client id. Returns what was done."""
        p, now = self.bot.pipeline, self.bot.clock.now_ms()
        wanted = target.strip().upper().replace("-", "/").replace("_", "/")
        for position in p.portfolio.open_positions():
            if wanted in (position.symbol.upper(), position.symbol.replace("/", "").upper()):
                request_flatten(p, now, f"closed {CONTROL_REASON} ({who})", position.symbol)
                side = "long" if position.direction is Direction.LONG else "short"
                return f"closing the {side} {position.qty} {position.symbol} at market"
        order = p.execution.get(target.strip())
        if order is not None and order.status.is_open:
            p.execution.cancel(order.client_order_id)
            return f"cancelling order {order.client_order_id} ({order.side} {order.qty})"
        raise ControlError(f"no open position or order named {target!r}")

    def close_all(self, who: str) -> int:
        """Cancel every open order and close every position at market; the positions closed."""
        p = self.bot.pipeline
        count = p.portfolio.open_position_count()
        request_flatten(p, self.bot.clock.now_ms(), f"closed {CONTROL_REASON} ({who})")
        return count

    def stop(self) -> None:
        self.bot.request_stop()

    def reload_config(self) -> None:
        self.bot.reload()

    # -- feed health --------------------------------------------------------------------------

    def _on_stale(self, event: FeedStale) -> None:
        self._stale[event.source] = event.detail

    def _on_restored(self, event: FeedRestored) -> None:
        self._stale.pop(event.source, None)


def _day(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).date().isoformat()


def _tail(path: Path, lines: int) -> list[str]:
    try:
        with path.open(encoding="utf-8", errors="replace") as file:
            return [line.rstrip("\n") for line in deque(file, maxlen=lines)]
    except FileNotFoundError:
        raise ControlError(f"the log file {path} does not exist yet") from None
