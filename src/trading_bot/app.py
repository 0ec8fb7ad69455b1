"""The application: wires the pipeline to its edges (market feed, storage, console) and owns
the lifecycle: restore state, run until a signal, then stop gracefully and save everything.

Everything runs on one asyncio loop. SIGINT/SIGTERM stop the bot (feed stopped, state saved,
exit 0); SIGHUP reloads the configuration file; SIGUSR1 pauses new entries, SIGUSR2 resumes.
"""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import structlog
from rich.console import Console

from trading_bot.config import (
    ConfigError,
    Settings,
    load_settings,
    secret_values,
)
from trading_bot.core.model import Instrument
from trading_bot.data.timeframes import format_timeframe
from trading_bot.logs import configure_logging, log_action, log_error
from trading_bot.notify.audit import AuditTrail
from trading_bot.notify.console import ConsoleNotifier
from trading_bot.pipeline import Pipeline, build_pipeline, flatten_at_close
from trading_bot.redaction import redact_url
from trading_bot.storage import Database, Recorder, StateStore
from trading_bot.strategies.registry import build_strategy
from trading_bot.venues.binance.market import BinanceMarket
from trading_bot.venues.market import Market
from trading_bot.venues.replay import ReplayMarket

log = structlog.get_logger("trading_bot.app")

SHUTDOWN_REASON = "shutdown"
RUNNING = "Running."  # the end of the start-up announcement
HANDLED_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGUSR1, signal.SIGUSR2)


class LiveModeUnavailable(Exception):
    """`mode = "live"` was asked for, but no live venue is configured in this version."""


def make_market(settings: Settings) -> Market:
    """The market-data venue `bot.venue` names."""
    if settings.bot.venue == "binance":
        return BinanceMarket(settings.binance)
    return ReplayMarket(settings.replay)


class TradingApp:
    def __init__(
        self,
        settings: Settings,
        config_path: Path | None,
        console: Console,
        market: Market,
        instrument: Instrument,
    ) -> None:
        self.settings = settings
        self.config_path = config_path
        self.console = console
        self.stop_requested = asyncio.Event()
        self.market = market
        self.symbol, self.timeframe = market.symbol, market.timeframe_ms
        strategy_settings = settings.strategy
        strategy = build_strategy(
            strategy_settings.name, strategy_settings.params, self.symbol, self.timeframe
        )
        self.clock = market.clock
        self.pipeline: Pipeline = build_pipeline(
            settings.pipeline, self.clock, strategy, instrument
        )
        self.database = Database(settings.storage.database_url)
        self.store = StateStore(self.database)
        self.notifier = ConsoleNotifier(self.pipeline.hub, console)
        AuditTrail(self.pipeline.hub)
        self.recorder: Recorder | None = None

    @classmethod
    async def create(
        cls, settings: Settings, config_path: Path | None, console: Console
    ) -> TradingApp:
        if settings.bot.mode == "live":
            raise LiveModeUnavailable(
                'bot.mode = "live" needs a venue that trades, and this version only reads '
                'market data (replay, Binance): set bot.mode = "paper"'
            )
        market = make_market(settings)
        try:
            instrument = await market.prepare(settings.instrument)
        except BaseException:
            await market.close()
            raise
        return cls(settings, config_path, console, market, instrument)

    # -- state ----------------------------------------------------------------------------

    def _restore(self) -> int | None:
        """Load what the last run saved; returns the open time of the last processed candle."""
        store, p = self.store, self.pipeline
        self.recorder = Recorder(p.hub, p.execution.get, fill_counts=store.fill_counts())
        p.portfolio.restore(store.get_state("portfolio") or {}, store.load_positions())
        p.risk.restore(store.get_state("risk") or {})
        execution_state = store.get_state("execution") or {}
        p.execution.restore(store.load_orders(open_only=True), execution_state.get("sequence", 0))
        for order in p.execution.open_orders():
            p.broker.submit(order)
        strategy_state = store.get_state("strategy") or {}
        if strategy_state.get("name") == p.strategy.name:
            p.strategy.restore(strategy_state.get("state", {}))
        feed_state = store.get_state("feed") or {}
        last = feed_state.get("last_open_time")
        if feed_state.get("symbol") == self.symbol and last is not None:
            p.processor.restore_last_closed(self.symbol, self.timeframe, int(last))
            return int(last)
        return None

    async def _warm_up(self, resume_after: int | None) -> None:
        """Replay history to a strategy that rebuilds its memory from candles
        (`Strategy.warmup`): the candles before the resume point, or on a first start the
        latest ones (a replay has none). Its signals then are history, not orders; the feed
        goes on after the last of these candles."""
        strategy = self.pipeline.strategy
        if strategy.warmup == 0:
            return
        history = await self.market.history(resume_after, strategy.warmup)
        for candle in history:
            strategy.on_candle(candle)
        if history and resume_after is None:
            last = history[-1].open_time
            self.pipeline.processor.restore_last_closed(self.symbol, self.timeframe, last)

    def _buffer_state(self) -> None:
        assert self.recorder is not None
        p, record = self.pipeline, self.recorder.set_state
        record("portfolio", p.portfolio.state())
        record("risk", p.risk.state())
        record("execution", {"sequence": p.execution.sequence})
        record("strategy", {"name": p.strategy.name, "state": p.strategy.state()})
        last = p.processor.last_closed_time(self.symbol, self.timeframe)
        record("feed", {"symbol": self.symbol, "last_open_time": last})

    async def _flush(self) -> None:
        assert self.recorder is not None
        self._buffer_state()
        await asyncio.to_thread(self.store.save, self.recorder.take_batch())

    async def _flush_forever(self) -> None:
        interval = self.settings.storage.flush_interval_s
        while True:
            await asyncio.sleep(interval)
            await self._flush()

    # -- lifecycle ------------------------------------------------------------------------

    def request_stop(self) -> None:
        self.stop_requested.set()

    def reload(self) -> None:
        """SIGHUP: re-read the configuration; apply logging and risk limits, keep the rest."""
        try:
            fresh = load_settings(self.config_path)
        except ConfigError as exc:
            log.error(
                "configuration reload refused; keeping the running one", problems=exc.problems
            )
            return
        configure_logging(fresh.logging, secret_values(fresh))
        self.pipeline.risk.settings = fresh.risk
        if fresh.pipeline.strategy != self.settings.pipeline.strategy:
            log.warning("strategy changes take effect after a restart")
        self.settings = fresh
        log_action("config reloaded", path=str(self.config_path))

    async def run(self) -> int:
        self.database.migrate()
        resume_after = self._restore()
        await self._warm_up(resume_after)
        processor = self.pipeline.processor
        feed = self.market.feed(
            self.pipeline.hub, lambda symbol: processor.last_closed_time(symbol, self.timeframe)
        )
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, self.request_stop)
        loop.add_signal_handler(signal.SIGHUP, self.reload)
        loop.add_signal_handler(signal.SIGUSR1, self.pipeline.risk.pause, "SIGUSR1")
        loop.add_signal_handler(signal.SIGUSR2, self.pipeline.risk.resume)
        self._announce(resume_after)  # after the handlers: a signal may follow at once
        tasks = [
            asyncio.create_task(feed, name="market-feed"),
            asyncio.create_task(self._flush_forever(), name="storage-flush"),
            asyncio.create_task(self.notifier.run(), name="console-notifier"),
        ]
        for task in tasks:
            task.add_done_callback(_report_failure)
        log_action("bot started", mode=self.settings.bot.mode, strategy=self.pipeline.strategy.name)
        try:
            await self.stop_requested.wait()
        finally:
            for sig in HANDLED_SIGNALS:
                loop.remove_signal_handler(sig)
            await self._shutdown(tasks)
        return 0

    async def _shutdown(self, tasks: list[asyncio.Task[None]]) -> None:
        """Stop intake first, then settle, save and close; bounded by bot.shutdown_timeout_s."""
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)  # failures were logged as they came
        if self.settings.bot.close_positions_on_shutdown:
            self._close_positions()
        self.notifier.drain()
        try:
            async with asyncio.timeout(self.settings.bot.shutdown_timeout_s):
                await self._flush()
        except TimeoutError:
            log.error("saving state at shutdown took too long; the last flush may be missing")
        self.database.close()
        equity = self.pipeline.portfolio.equity
        hub = self.pipeline.hub
        log_action(
            "bot stopped",
            equity=round(equity, 2),
            events={str(kind): n for kind, n in hub.published.items()},
            handler_failures=sum(hub.failures.values()),
        )
        self.notifier.say_now(f"Stopped. Equity {equity:,.2f}; state saved.")

    def _close_positions(self) -> None:
        """Close open positions at the last known close (option bot.close_positions_on_shutdown)."""
        recent = self.pipeline.processor.recent(self.symbol, self.timeframe)
        if recent:
            flatten_at_close(self.pipeline, recent[-1], SHUTDOWN_REASON)

    def _announce(self, resume_after: int | None) -> None:
        s, p = self.settings, self.pipeline
        self.notifier.say_now(
            f"[bold]trading-bot[/] {s.bot.mode.upper()} trading {self.symbol} "
            f"{format_timeframe(self.timeframe)} with {p.strategy.name} "
            f"{p.strategy.params.model_dump()} on {self.market.describe()}"
        )
        positions = ", ".join(f"{x.symbol} {x.qty}" for x in p.portfolio.open_positions())
        self.notifier.say_now(
            f"Equity {p.portfolio.equity:,.2f}, cash {p.portfolio.cash:.2f}"
            f"{', positions ' + positions if positions else ''}"
            f"{', PAUSED' if p.risk.paused else ''}; database "
            f"{redact_url(s.storage.database_url)}"
            f"{'; resuming after the last processed candle' if resume_after else ''}. {RUNNING}"
        )


def _report_failure(task: asyncio.Task[None]) -> None:
    """A background task that died is an error people must see; the bot goes on."""
    if not task.cancelled() and task.exception() is not None:
        log_error(task.exception() or "", task=task.get_name())


async def run_app(settings: Settings, config_path: Path | None, console: Console) -> int:
    app = await TradingApp.create(settings, config_path, console)
    try:
        return await app.run()
    finally:
        await app.market.close()
