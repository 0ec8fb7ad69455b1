"""The application: wires the pipeline to its edges (market feed, storage, console) and owns
the lifecycle: restore state, run until a signal, then stop gracefully and save everything.

Everything runs on one asyncio loop. SIGINT/SIGTERM stop the bot (feed stopped, state saved,
exit 0); SIGHUP reloads the configuration file; SIGUSR1 pauses new entries, SIGUSR2 resumes.

In live mode a venue's broker takes the orders: before trading, the orders the database holds
as open are adopted and the account is reconciled with the books (see `LiveVenue`); problems
pause new entries with the reasons.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path

import structlog
from rich.console import Console

from trading_bot.addons import Addons, scan_source
from trading_bot.config import (
    ConfigError,
    Settings,
    load_settings,
    secret_values,
)
from trading_bot.control import BotControl
from trading_bot.core.hub import EventHub
from trading_bot.core.model import Instrument, Order
from trading_bot.data.timeframes import format_timeframe
from trading_bot.health_report import (
    REPORT_EVERY_S,
    HealthReport,
    report_forever,
    write_report,
)
from trading_bot.logs import configure_logging, log_action, log_error
from trading_bot.notify import messages
from trading_bot.notify.audit import AuditTrail
from trading_bot.notify.channels import Channels
from trading_bot.notify.console import ConsoleNotifier
from trading_bot.pipeline import (
    EntryGates,
    Pipeline,
    build_pipeline,
    flatten_at_close,
    request_flatten,
)
from trading_bot.redaction import redact_url
from trading_bot.services.runtime import make_calendar
from trading_bot.services.scanner import ScanSource
from trading_bot.services.scheduler import TaskInfo
from trading_bot.storage import Database, RecordBatch, Recorder, StateStore
from trading_bot.strategies.base import Strategy
from trading_bot.strategies.registry import build_strategy
from trading_bot.systemd import SystemdNotifier
from trading_bot.traded import LeavingSymbols, TradedSymbols
from trading_bot.venues.binance.live import BinanceLive, credentials_from
from trading_bot.venues.binance.market import BinanceMarket
from trading_bot.venues.binance.rest import BinanceRest
from trading_bot.venues.market import LiveVenue, Market
from trading_bot.venues.oanda.live import OandaLive
from trading_bot.venues.oanda.market import OandaMarket
from trading_bot.venues.replay import ReplayMarket

log = structlog.get_logger("trading_bot.app")

SHUTDOWN_REASON = "shutdown"
RUNNING = "Running."  # the end of the start-up announcement
RECONCILIATION = "reconciliation with the venue found problems"  # a pause's reason starts so
ID_PREFIX = "tb-"  # our client order ids: how our orders are told from others at the venue
RELOADED = ("logging", "risk")  # the sections SIGHUP applies at once
HANDLED_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGUSR1, signal.SIGUSR2)


class LiveModeUnavailable(Exception):
    """`mode = "live"` was asked for with settings that cannot trade live."""


def make_market(settings: Settings, venue: str | None = None) -> Market:
    """The market-data venue `venue` (default: `bot.venue`) names."""
    venue = venue or settings.bot.venue
    if venue == "binance":
        return BinanceMarket(settings.binance, poll_only=settings.bot.sync_mode)
    if venue == "oanda":
        return OandaMarket(settings.oanda, poll_only=settings.bot.sync_mode)
    return ReplayMarket(settings.replay)


async def connect_live(market: Market) -> LiveVenue:
    """The trading half of a prepared market, checked before anything trades."""
    if isinstance(market, BinanceMarket):
        return await BinanceLive.connect(market)
    assert isinstance(market, OandaMarket), "_check_live_settings lets only venues that trade"
    return OandaLive(market)


class TradingApp:
    def __init__(
        self,
        settings: Settings,
        config_path: Path | None,
        console: Console,
        market: Market,
        instrument: Instrument,
        live: LiveVenue | None = None,
        scan_source: ScanSource | None = None,
    ) -> None:
        self.settings = settings
        self.config_path = config_path
        self.console = console
        self.stop_requested = asyncio.Event()
        self.market = market
        self.symbol, self.timeframe = market.symbol, market.timeframe_ms
        strategy_settings = settings.strategy

        def make_strategy(symbol: str) -> Strategy:
            return build_strategy(
                strategy_settings.name, strategy_settings.params, symbol, self.timeframe
            )

        self.clock = market.clock
        self.live = live
        self.calendar = make_calendar(settings.services)  # high-impact events block entries
        leaving = LeavingSymbols()  # symbols the universe dropped while they were open
        hub = EventHub()
        self.pipeline: Pipeline = build_pipeline(
            settings.pipeline,
            self.clock,
            make_strategy(self.symbol),
            instrument,
            broker=None if live is None else live.broker(hub, self._record_order),
            id_prefix=ID_PREFIX,
            hub=hub,
            entry_gate=EntryGates(self.calendar, leaving),
        )
        self.traded = TradedSymbols(
            self.pipeline,
            market,
            market if isinstance(market, BinanceMarket) else None,
            make_strategy,
            leaving,
            self._universe_changed,
        )
        self.database = Database(settings.storage.database_url)
        self.store = StateStore(self.database)
        self.notifier = ConsoleNotifier(self.pipeline.hub, console)
        AuditTrail(self.pipeline.hub)
        self.recorder: Recorder | None = None
        self._saving = asyncio.Lock()
        self.control = BotControl(self)
        self.channels = Channels(settings.telegram, settings.discord, hub, self.clock, self.control)
        self.systemd = SystemdNotifier()
        self.tasks: list[asyncio.Task[None]] = []
        self.scan_rest: BinanceRest | None = None  # the scanner's own client, if it has one
        self.addons = Addons(self, scan_source, lambda: self.tasks)

    @classmethod
    async def create(
        cls, settings: Settings, config_path: Path | None, console: Console
    ) -> TradingApp:
        live_mode = settings.bot.mode == "live"
        if live_mode:
            _check_live_settings(settings)
        market = make_market(settings)
        try:
            instrument = await market.prepare(settings.instrument)
            live = await connect_live(market) if live_mode else None
            source, scan_rest = await scan_source(settings, market)
        except BaseException:
            await market.close()
            raise
        app = cls(settings, config_path, console, market, instrument, live, source)
        app.scan_rest = scan_rest
        return app

    # -- state ----------------------------------------------------------------------------

    def _restore(self) -> int | None:
        """Load what the last run saved; returns the open time of the last processed candle."""
        store, p = self.store, self.pipeline
        self.recorder = Recorder(p.hub, p.execution.get, fill_counts=store.fill_counts())
        p.portfolio.restore(store.get_state("portfolio") or {}, store.load_positions())
        p.risk.restore(store.get_state("risk") or {})
        execution_state = store.get_state("execution") or {}
        p.execution.restore(store.load_orders(open_only=True), execution_state.get("sequence", 0))
        if self.live is not None:
            self.live.adopt(p.execution.open_orders())
        else:
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

    async def _record_order(self, order: Order) -> None:
        """Write one order (and the id sequence) durably, now: a live broker awaits this
        before the order leaves, so that a crash can never hide an order from the next start."""
        batch = RecordBatch()
        batch.add_order(order)
        batch.set_state("execution", {"sequence": self.pipeline.execution.sequence})
        await asyncio.to_thread(self.store.save, batch)

    def _buffer_state(self) -> None:
        assert self.recorder is not None
        p, record = self.pipeline, self.recorder.set_state
        record("portfolio", p.portfolio.state())
        record("risk", p.risk.state())
        record("execution", {"sequence": p.execution.sequence})
        record("strategy", {"name": p.strategy.name, "state": p.strategy.state()})
        last = p.processor.last_closed_time(self.symbol, self.timeframe)
        record("feed", {"symbol": self.symbol, "last_open_time": last})
        record("universe", self.traded.state())

    async def _flush(self) -> None:
        """Save what was buffered, one save at a time and in order: a batch taken is written
        before the next one is taken, so none is lost or overtaken."""
        assert self.recorder is not None
        async with self._saving:
            self._buffer_state()
            batch = self.recorder.take_batch()
            try:
                await asyncio.to_thread(self.store.save, batch)
            except Exception:  # rolled back, nothing of it written: it goes with the next save
                self.recorder.give_back(batch)
                raise

    async def _flush_forever(self) -> None:
        interval = self.settings.storage.flush_interval_s
        while True:
            await asyncio.sleep(interval)
            try:
                # shielded: stopping this task must not abandon a batch half-way to the database
                await asyncio.shield(self._flush())
            except Exception as exc:  # the database is down or full: keep it all, retry
                log_error(exc, task="storage-flush", detail="kept in memory; saved at the next try")

    def _problem(self) -> str | None:
        """Why the bot is unhealthy (the watchdog is not fed then), or None."""
        health = self.control.health()
        return None if health.healthy else "; ".join(health.problems)

    def _health_report(self) -> HealthReport:
        status, health = self.control.status(), self.control.health()
        return HealthReport(
            time_ms=time.time_ns() // 1_000_000,
            pid=os.getpid(),
            every_s=REPORT_EVERY_S,
            healthy=health.healthy,
            problems=list(health.problems),
            mode=status.mode,
            equity=status.equity,
            open_positions=status.open_positions,
            last_candle_age_s=health.last_candle_age_s,
        )

    async def _heartbeat_forever(self) -> None:
        """A sign of life to the channels, with what people check first."""
        interval = self.settings.bot.heartbeat_interval_s
        if not interval or (self.channels.telegram is None and self.channels.discord is None):
            return
        failures_before = 0
        while True:
            await asyncio.sleep(interval)
            status, health = self.control.status(), self.control.health()
            age = health.last_candle_age_s
            fields = {
                "Mode": status.mode,
                "Up": f"{status.uptime_s / 3600:.1f} h",
                "Equity": f"{status.equity:,.2f}",
                "Open positions": str(status.open_positions),
                "Last candle": "none yet" if age is None else f"{age:,.0f} s ago",
                "Errors since last": str(health.handler_failures - failures_before),
            }
            if status.paused:
                fields["Paused"] = status.pause_reason
            failures_before = health.handler_failures
            self.channels.notify(messages.heartbeat(self.clock.now_ms(), fields))

    # -- lifecycle ------------------------------------------------------------------------

    @property
    def synthetic(self) -> bool:
        return self.market.synthetic

    def describe_venue(self) -> str:
        where = self.market.describe()
        return where if self.live is None else f"{where}; {self.live.describe()}"

    def scheduled_tasks(self) -> list[TaskInfo]:
        return self.addons.services.tasks()

    def request_stop(self) -> None:
        self.stop_requested.set()

    def reload(self) -> None:
        """SIGHUP: re-read the configuration; apply logging and risk limits, and name the
        sections whose changes wait for a restart (the API token, Telegram's chats, ...)."""
        try:
            fresh = load_settings(self.config_path)
        except ConfigError as exc:
            log.error(
                "configuration reload refused; keeping the running one", problems=exc.problems
            )
            return
        configure_logging(fresh.logging, secret_values(fresh))
        self.pipeline.risk.settings = fresh.risk
        later = [
            name
            for name in type(fresh).model_fields
            if name not in RELOADED and getattr(fresh, name) != getattr(self.settings, name)
        ]
        if later:
            log.warning("these changes take effect after a restart", sections=later)
        self.settings = fresh
        log_action("config reloaded", path=str(self.config_path))

    async def _reconcile(self) -> None:
        """Live: bring the books up to date with the venue and pause on what does not agree."""
        if self.live is None:
            return
        risk = self.pipeline.risk
        problems = await self.live.reconcile(self.pipeline.portfolio, ID_PREFIX)
        for problem in problems:
            log.error("reconciliation problem", problem=problem)
        if problems:
            risk.pause(f"{RECONCILIATION}: {'; '.join(problems)}")
        elif risk.paused and risk.pause_reason.startswith(RECONCILIATION):
            risk.resume()  # what an earlier start found is resolved

    async def run(self) -> int:
        api_lines = self.addons.start()  # first: a port in use stops the bot before it acts
        self.database.migrate()
        resume_after = self._restore()
        await self._reconcile()
        await self.traded.warm_up(self.pipeline.strategy, resume_after)
        universe = self.store.get_state("universe") or {}
        await self.traded.restore(universe, self.settings.services.universe.enabled)
        await self.addons.rank_universe()
        channel_work = await self.channels.start()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, self.request_stop)
        loop.add_signal_handler(signal.SIGHUP, self.reload)
        loop.add_signal_handler(signal.SIGUSR1, self.control.pause, "SIGUSR1")
        loop.add_signal_handler(signal.SIGUSR2, self.control.resume)
        for line in api_lines:  # the dashboard's address (and a new token, once)
            self.notifier.say_now(line)
        self._announce(resume_after)  # after the handlers: a signal may follow at once
        work = {
            "market-feed": self.traded.run_feed(),
            "storage-flush": self._flush_forever(),
            "console-notifier": self.notifier.run(),
            "heartbeat": self._heartbeat_forever(),
            "systemd-watchdog": self.systemd.watchdog(self._problem),
            **self.addons.early_tasks(),
        }
        health_file = self.settings.bot.health_file
        if health_file is not None:
            work["health-report"] = report_forever(health_file, self._health_report)
        # what must outlive the intake: the venue settles the last orders, channels tell people
        late_work = {
            **channel_work,
            **({} if self.live is None else self.live.tasks()),
            **self.addons.late_tasks(),
        }
        tasks = [asyncio.create_task(job, name=name) for name, job in work.items()]
        late_tasks = [asyncio.create_task(job, name=name) for name, job in late_work.items()]
        self.tasks = tasks + late_tasks
        for task in self.tasks:
            task.add_done_callback(_report_failure)
        log_action("bot started", mode=self.settings.bot.mode, strategy=self.pipeline.strategy.name)
        self.channels.notify(
            messages.started(self.clock.now_ms(), self.settings.bot.mode, self.describe_venue())
        )
        if health_file is not None:  # readable by the time systemd hears we are ready
            write_report(health_file, self._health_report())
        self.systemd.ready(f"{self.settings.bot.mode} trading {self.symbol}")
        try:
            await self.stop_requested.wait()
        finally:
            for sig in HANDLED_SIGNALS:
                loop.remove_signal_handler(sig)
            await self._shutdown(tasks, late_tasks)
        return 0

    async def _shutdown(
        self, tasks: list[asyncio.Task[None]], late_tasks: list[asyncio.Task[None]]
    ) -> None:
        """Stop intake first, then settle (a venue's broker carries out what is queued, exits
        included), save, tell people and close; bounded by bot.shutdown_timeout_s."""
        self.systemd.stopping()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)  # failures were logged as they came
        if self.settings.bot.close_positions_on_shutdown:
            self._close_positions()
        try:
            async with asyncio.timeout(self.settings.bot.shutdown_timeout_s):
                if self.live is not None:
                    await self.live.drain()
                await self._flush()
        except TimeoutError:
            log.error(
                "stopping took longer than bot.shutdown_timeout_s; orders still queued are "
                "looked up at the next start, and the last flush may be missing"
            )
        equity = self.pipeline.portfolio.equity
        self.channels.notify(
            messages.stopped(self.clock.now_ms(), f"Equity {equity:,.2f}; state saved.")
        )
        await self.channels.drain(self.settings.bot.shutdown_timeout_s)
        for task in late_tasks:
            task.cancel()
        await asyncio.gather(*late_tasks, return_exceptions=True)
        await self.channels.stop()
        await self.addons.close()
        self.notifier.drain()
        if self.live is not None:
            await self._flush()  # what the venue said while its tasks wound down
        self.database.close()
        if self.settings.bot.health_file is not None:
            self.settings.bot.health_file.unlink(missing_ok=True)  # stopped, not dead
        hub = self.pipeline.hub
        log_action(
            "bot stopped",
            equity=round(equity, 2),
            events={str(kind): n for kind, n in hub.published.items()},
            handler_failures=sum(hub.failures.values()),
        )
        self.notifier.say_now(f"Stopped. Equity {equity:,.2f}; state saved.")

    def _close_positions(self) -> None:
        """Close open positions (option bot.close_positions_on_shutdown): at the venue, or at
        the last known close in the simulator."""
        if self.live is not None:
            request_flatten(self.pipeline, self.clock.now_ms(), SHUTDOWN_REASON)
            return
        processor = self.pipeline.processor
        recent = [processor.recent(symbol, self.timeframe)[-1:] for symbol in self.traded.symbols]
        lasts = [last for found in recent for last in found]
        if lasts:
            flatten_at_close(self.pipeline, lasts, SHUTDOWN_REASON)

    def _universe_changed(self, added: list[str], dropped: list[str], kept: list[str]) -> None:
        self.channels.notify(messages.universe_changed(self.clock.now_ms(), added, dropped, kept))

    def _announce(self, resume_after: int | None) -> None:
        s, p = self.settings, self.pipeline
        self.notifier.say_now(
            f"[bold]trading-bot[/] {s.bot.mode.upper()} trading {self.symbol} "
            f"{format_timeframe(self.timeframe)} with {p.strategy.name} "
            f"{p.strategy.params.model_dump()} on {self.describe_venue()}"
        )
        positions = ", ".join(f"{x.symbol} {x.qty}" for x in p.portfolio.open_positions())
        self.notifier.say_now(
            f"Equity {p.portfolio.equity:,.2f}, cash {p.portfolio.cash:.2f}"
            f"{', positions ' + positions if positions else ''}"
            f"{', PAUSED' if p.risk.paused else ''}; database "
            f"{redact_url(s.storage.database_url)}"
            f"{'; resuming after the last processed candle' if resume_after else ''}. {RUNNING}"
        )


def _check_live_settings(settings: Settings) -> None:
    """Live trading needs a venue that takes orders, its credentials, and on spot no shorts."""
    venue = settings.bot.venue
    if venue == "oanda":
        if not settings.oanda.account_id:
            raise LiveModeUnavailable("live trading on OANDA needs oanda.account_id")
        return  # the token is checked when the market connects
    if venue != "binance":
        raise LiveModeUnavailable(
            f'bot.mode = "live" needs a venue that takes orders, and bot.venue = '
            f'"{venue}" only replays candles: set bot.venue = "binance" or "oanda" (with '
            'their credentials), or bot.mode = "paper"'
        )
    if settings.risk.allow_short:
        raise LiveModeUnavailable(
            "Binance spot cannot sell short what the account does not hold: set "
            "risk.allow_short = false for live trading"
        )
    credentials_from(settings.binance)  # names a missing key before anything connects


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
        if app.scan_rest is not None:
            await app.scan_rest.close()
