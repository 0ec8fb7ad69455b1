"""The periodic services of a run, built from their settings and scheduled together: what the
app constructs once (after its hub, before the pipeline for the calendar gate) and runs as one
task.

    calendar = make_calendar(settings.services)           # the pipeline's entry_gate
    pipeline = build_pipeline(..., hub=hub, entry_gate=calendar)
    services = build_services(settings.services, hub, clock, [symbol], calendar=calendar, ...)
    tasks["services"] = services.run()
    ...
    await services.close()
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from trading_bot.core.clock import Clock
from trading_bot.core.hub import EventHub, Priority
from trading_bot.notify.messages import Notification
from trading_bot.services import notices
from trading_bot.services.calendar import (
    CalendarService,
    EconomicCalendar,
    flatten_job,
)
from trading_bot.services.housekeeping import Housekeeping, sqlite_path
from trading_bot.services.http import Fetcher
from trading_bot.services.news import NewsItem, NewsService
from trading_bot.services.scanner import PriceAlert, PriceScanner, ScanSource
from trading_bot.services.scheduler import Job, Scheduler, TaskInfo
from trading_bot.services.settings import ServicesSettings
from trading_bot.services.universe import Apply, Universe

FLATTEN_CHECK_S = 30.0  # how often the flatten-before-events job looks at the calendar


@dataclass
class Services:
    scheduler: Scheduler
    fetcher: Fetcher
    calendar: EconomicCalendar | None = None
    news: NewsService | None = None
    scanner: PriceScanner | None = None
    universe: Universe | None = None
    housekeeping: Housekeeping | None = None

    def tasks(self) -> list[TaskInfo]:
        """Each scheduled task's runs, errors and times (the status command, the API)."""
        return self.scheduler.tasks()

    async def run(self) -> None:
        await self.scheduler.run()

    async def close(self) -> None:
        await self.scheduler.stop()
        await self.fetcher.close()


def make_calendar(settings: ServicesSettings) -> EconomicCalendar | None:
    """The economic calendar (the pipeline's `entry_gate`) if enabled."""
    return EconomicCalendar(settings.calendar) if settings.calendar.enabled else None


def build_services(
    settings: ServicesSettings,
    hub: EventHub,
    clock: Clock,
    symbols: Sequence[str],
    *,
    calendar: EconomicCalendar | None = None,
    notify: Callable[[Notification], None] | None = None,
    flatten: Callable[[str, str], None] | None = None,
    open_symbols: Callable[[], Iterable[str]] = tuple,
    scan_source: ScanSource | None = None,
    trade_universe: Apply | None = None,
    active_logs: Iterable[Path] = (),
    database_url: str | None = None,
    rng: random.Random | None = None,
) -> Services:
    """Build and schedule the enabled services. `notify` takes notifications for people
    (`Channels.notify`); `flatten(symbol, reason)` closes a position before an event and
    `open_symbols()` names those open (needed with calendar.flatten_minutes_before);
    `scan_source` is the venue the scanner and the universe read (needed with scanner.enabled
    or universe.enabled); `trade_universe(symbols)` makes the bot trade the universe's pick."""
    fetcher = Fetcher(max(settings.news.timeout_s, settings.calendar.timeout_s))
    scheduler = Scheduler(clock, rng)
    services = Services(scheduler, fetcher, calendar)

    def every(name: str, job: Job, interval_s: float, delay_s: float = 0) -> None:
        scheduler.add(
            name,
            job,
            interval_s,
            jitter_s=interval_s * settings.jitter_fraction,
            retry_s=min(settings.retry_s, interval_s),
            first_delay_s=delay_s,
        )

    if calendar is not None:
        every(
            "calendar",
            CalendarService(calendar, fetcher).refresh,
            calendar.settings.refresh_interval_s,
        )
        if calendar.settings.flatten_minutes_before is not None:
            if flatten is None:
                raise ValueError("calendar.flatten_minutes_before needs a way to flatten")
            every(
                "calendar-flatten",
                flatten_job(calendar, clock, open_symbols, flatten),
                FLATTEN_CHECK_S,
            )
    news = settings.news
    if news.enabled and news.feeds:
        services.news = NewsService(news, hub, clock, fetcher, symbols, None)
        if notify is not None:
            send = notify

            def tell(item: NewsItem) -> None:
                send(notices.news_item(item, clock.now_ms()))

            services.news.notify = tell
        every("news", services.news.poll, news.interval_s)
    scan = settings.scanner
    if scan.enabled:
        if scan_source is None:
            raise ValueError("scanner.enabled needs a venue to scan (none was given)")
        services.scanner = PriceScanner(scan, hub, clock, scan_source)
        every("price-scan", services.scanner.scan, scan.interval_s)
        if notify is not None:
            send_alert = notify

            def alert(event: PriceAlert) -> None:
                send_alert(notices.price_alert(event))

            hub.subscribe(PriceAlert, alert, Priority.NOTIFY)
    universe = settings.universe
    if universe.enabled:
        if scan_source is None or trade_universe is None:
            raise ValueError("universe.enabled needs a venue to rank and a way to trade the pick")
        services.universe = Universe(universe, scan_source, trade_universe)
        # the first ranking is the app's, at start (`Addons.rank_universe`)
        every("universe", services.universe.refresh, universe.interval_s, universe.interval_s)
    keep = settings.housekeeping
    if keep.enabled:
        database = None if database_url is None else sqlite_path(database_url)
        services.housekeeping = Housekeeping(keep, clock, active_logs, database)
        every("log-cleanup", services.housekeeping.clean, keep.interval_s, delay_s=60)
        if keep.backup_dir is not None and database is not None:
            # checked hourly; a backup is made once the newest is backup_interval_s old, so that
            # restarts neither add backups nor skip one
            every("database-backup", services.housekeeping.backup, 3600, delay_s=300)
    return services
