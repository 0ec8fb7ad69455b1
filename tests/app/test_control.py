"""The control service every face (Telegram, API, dashboard) calls, on a real running bot:
views agree with the books, commands act through the pipeline."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from rich.console import Console

from tests.waiting import wait_for
from trading_bot.app import TradingApp
from trading_bot.config import load_settings
from trading_bot.control import ControlError
from trading_bot.core.events import Event, FeedEnded, PositionChanged, PositionClosed
from trading_bot.core.hub import Priority
from trading_bot.logs import configure_logging, flush_logs

from .botprocess import write_config


@dataclass
class Running:
    app: TradingApp
    events: list[Event]
    changed: asyncio.Event
    task: asyncio.Task[int]

    async def until(self, done: Callable[[], bool], timeout: float = 30) -> None:
        await wait_for(done, self.changed, [self.task], timeout)

    def of(self, kind: type[Event]) -> list[Event]:
        return [e for e in self.events if isinstance(e, kind)]


async def start(
    tmp_path: Path, candles: int, speed: float, env: dict[str, str] | None = None
) -> Running:
    config = write_config(tmp_path / "bot.toml", tmp_path, candles=candles, speed=speed)
    settings = load_settings(config, env or {})
    configure_logging(settings.logging)  # as the command does: the log file exists
    app = await TradingApp.create(settings, config, Console(file=io.StringIO()))
    events: list[Event] = []
    changed = asyncio.Event()

    def note(event: Event) -> None:
        events.append(event)
        changed.set()

    for kind in (FeedEnded, PositionChanged, PositionClosed):
        app.pipeline.hub.subscribe(kind, note, Priority.NOTIFY)
    return Running(app, events, changed, asyncio.create_task(app.run()))


@pytest.fixture
async def finished(tmp_path: Path, restore_logging: None) -> AsyncIterator[Running]:
    """A paper run on 600 synthetic candles, replayed to the end, still running."""
    run = await start(tmp_path, candles=600, speed=0)
    await run.until(lambda: bool(run.of(FeedEnded)))
    await run.app._flush()  # what the views read from the database
    flush_logs()
    yield run
    run.app.request_stop()
    assert await run.task == 0
    await run.app.market.close()


async def test_views_agree_with_the_books(finished: Running) -> None:
    app, control = finished.app, finished.app.control
    status = control.status()
    assert status.synthetic and status.mode == "paper" and status.symbol == "SYN/USD"
    assert status.strategy == "sma_cross" and not status.paused and status.stale_feeds == ()
    assert status.equity == app.pipeline.portfolio.equity
    assert status.last_candle_time is not None
    everything = app.store.load_trades()
    assert len(everything) > 5
    assert await control.trades(3) == everything[-3:]
    profit = await control.profit()
    assert profit.trades == len(everything)
    assert profit.realized_pnl == pytest.approx(sum(float(t.pnl) for t in everything))
    days = await control.daily(366)
    assert sum(d.pnl for d in days) == pytest.approx(profit.realized_pnl)
    assert days[0].day >= days[-1].day  # newest first
    by_reason = await control.performance()
    assert sum(r.trades for r in by_reason) == len(everything)
    balance = control.balance()
    assert balance.cash == float(app.pipeline.portfolio.cash)
    assert [p.symbol for p in control.positions()] == [
        p.symbol for p in app.pipeline.portfolio.open_positions()
    ]
    assert control.health().healthy
    assert any('"bot started"' in line for line in control.logs(500))


async def test_bad_arguments_are_refused_with_a_reason(finished: Running) -> None:
    control = finished.app.control
    with pytest.raises(ControlError, match="at least 1"):
        await control.trades(0)
    with pytest.raises(ControlError, match="between 1 and 366"):
        await control.daily(0)
    with pytest.raises(ControlError, match="no open position or order named 'DOGE/USD'"):
        control.close("DOGE/USD", "test")


async def test_pause_resume_and_close_act_through_the_pipeline(
    tmp_path: Path, restore_logging: None
) -> None:
    run = await start(tmp_path, candles=100_000, speed=400)
    control, risk = run.app.control, run.app.pipeline.risk
    try:
        assert control.pause("test") and risk.paused and "by command (test)" in risk.pause_reason
        assert not control.pause("test")  # already
        assert control.resume() and not risk.paused and not control.resume()
        portfolio = run.app.pipeline.portfolio
        await run.until(lambda: portfolio.open_position_count() == 1)
        assert control.pause("test")  # no new entry may replace what is closed below
        done = control.close("syn-usd", "test")
        assert done.startswith("closing the") and "SYN/USD at market" in done
        await run.until(lambda: portfolio.open_position_count() == 0)
        closed = run.of(PositionClosed)[-1]
        assert "by command (test)" in closed.trade.exit_reason  # type: ignore[attr-defined]
    finally:
        control.stop()
        assert await run.task == 0
        await run.app.market.close()


async def test_the_periodic_services_run_on_the_bots_clock_and_show_their_schedule(
    tmp_path: Path, restore_logging: None
) -> None:
    """Housekeeping on: its tasks run as the replay's clock passes their intervals, and the
    schedule (runs, errors, next run) is what the API's /tasks and Telegram's /health show."""
    env = {
        "TRADING_BOT_SERVICES__HOUSEKEEPING__ENABLED": "true",
        "TRADING_BOT_SERVICES__HOUSEKEEPING__LOG_DIR": str(tmp_path / "logs"),
        "TRADING_BOT_SERVICES__HOUSEKEEPING__BACKUP_DIR": str(tmp_path / "backups"),
    }
    run = await start(tmp_path, candles=100_000, speed=2_000, env=env)  # 33 market hours/s
    try:
        control = run.app.control
        await run.until(lambda: any(t.runs >= 2 for t in control.scheduled()), timeout=60)
        tasks = {t.name: t for t in control.scheduled()}
        assert set(tasks) == {"log-cleanup", "database-backup"}
        assert all(t.errors == 0 and t.next_run > (t.last_start or 0) for t in tasks.values())
        assert list((tmp_path / "backups").iterdir())  # a real backup of the bot's database
    finally:
        run.app.request_stop()
        assert await run.task == 0
        await run.app.market.close()
