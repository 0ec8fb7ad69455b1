"""Every service built from its settings and scheduled together, as the app wires them: one
simulated stretch of time runs each, and their results reach the hub and the notifiers."""

from __future__ import annotations

import os
import random
import sqlite3
from pathlib import Path

import pandas as pd
import pytest

from trading_bot.core.clock import SimulatedClock, datetime_to_ms
from trading_bot.core.hub import EventHub
from trading_bot.data.files import load_candles
from trading_bot.notify.messages import Notification
from trading_bot.services import notices
from trading_bot.services.calendar import CalendarSettings
from trading_bot.services.housekeeping import HousekeepingSettings
from trading_bot.services.news import NewsReceived, NewsSettings
from trading_bot.services.runtime import ServicesSettings, build_services, make_calendar
from trading_bot.services.scanner import ScannerSettings
from trading_bot.services.scanner_binance import BinanceScanSource
from trading_bot.testing.fake_binance import FakeBinance
from trading_bot.testing.fake_binance_tickers import FakeBinanceTickers
from trading_bot.testing.fake_feeds import FakeFeedServer
from trading_bot.venues.binance.rest import BinanceRest

FIXTURES = Path(__file__).parent / "fixtures"


def at(text: str) -> int:
    return datetime_to_ms(pd.Timestamp(text).to_pydatetime())


async def test_the_services_run_together_on_one_clock(tmp_path: Path, shared_data: Path) -> None:
    btc = load_candles(shared_data / "binance-BTCUSDT-1h.csv.gz").loc["2021-05-17":"2021-05-19"]
    fake = FakeBinance(
        {"BTC/USDT": btc}, "1h", updates_per_candle=1, live_from_ms=at("2021-05-19T03:00Z")
    )
    FakeBinanceTickers(fake, {"BTC/USDT": btc})
    logs = tmp_path / "logs"
    logs.mkdir()
    old_log = logs / "bot.jsonl.3"
    old_log.write_text("old\n")
    start = at("2015-11-06T13:00Z")
    os.utime(old_log, (start / 1000 - 90 * 86_400,) * 2)
    database = tmp_path / "bot.sqlite"
    sqlite3.connect(database).close()

    async with FakeFeedServer() as server, fake, BinanceRest(fake.settings(), fake.clock) as rest:
        server.put("/cal.xml", (FIXTURES / "ff_calendar_thisweek.xml").read_bytes())
        server.put("/news.rss", (FIXTURES / "news.rss").read_bytes())
        settings = ServicesSettings(
            calendar=CalendarSettings(
                enabled=True, url=server.url("/cal.xml"), flatten_minutes_before=60
            ),
            news=NewsSettings(enabled=True, feeds=(server.url("/news.rss"),)),
            scanner=ScannerSettings(enabled=True, symbols=("BTC/USDT",), change_pct=10),
            housekeeping=HousekeepingSettings(
                enabled=True, log_dir=logs, backup_dir=tmp_path / "backups"
            ),
        )
        hub, clock = EventHub(), SimulatedClock(start)
        news_events: list[NewsReceived] = []
        hub.subscribe(NewsReceived, news_events.append)
        told: list[Notification] = []
        flattened: list[tuple[str, str]] = []
        calendar = make_calendar(settings)
        assert calendar is not None
        services = build_services(
            settings,
            hub,
            clock,
            ["EUR/USD"],
            calendar=calendar,
            notify=told.append,
            flatten=lambda symbol, reason: flattened.append((symbol, reason)),
            open_symbols=lambda: ["EUR/USD"],
            scan_source=BinanceScanSource(rest, await rest.markets()),
            database_url=f"sqlite:///{database}",
            rng=random.Random(5),
        )
        scheduler = services.scheduler
        try:
            while (wake := scheduler.next_wakeup_ms()) is not None and wake < start + 600_000:
                clock.advance_to(wake)
                await scheduler.run_due()
                await scheduler.wait_idle()  # jobs doing real I/O on loopback
        finally:
            await services.close()

    info = {task.name: task for task in services.tasks()}
    assert set(info) == {
        "calendar",
        "calendar-flatten",
        "news",
        "price-scan",
        "log-cleanup",
        "database-backup",
    }
    assert all(task.runs >= 1 and task.errors == 0 for task in info.values())
    assert len(calendar.events) == 10
    assert calendar.entry_block("EUR/USD", at("2015-11-06T13:30Z")) is not None
    assert [symbol for symbol, _ in flattened] == ["EUR/USD"]  # NFP within the hour, once
    assert len(news_events) == 3
    kinds = [n.kind for n in told]
    assert kinds.count(notices.NEWS_KIND) == 2 and kinds.count(notices.ALERT_KIND) == 1
    alert = next(n for n in told if n.kind is notices.ALERT_KIND)
    assert alert.title == "Price alert: BTC/USDT"
    assert not old_log.exists()  # 90 days old: deleted
    assert len(list((tmp_path / "backups").iterdir())) == 1


def test_misconfigured_services_name_what_is_missing() -> None:
    hub, clock = EventHub(), SimulatedClock()
    flat = ServicesSettings(calendar=CalendarSettings(enabled=True, flatten_minutes_before=5))
    with pytest.raises(ValueError, match="flatten"):
        build_services(flat, hub, clock, ["EUR/USD"], calendar=make_calendar(flat))
    scan = ServicesSettings(scanner=ScannerSettings(enabled=True, symbols=("BTC/USDT",)))
    with pytest.raises(ValueError, match=r"scanner\.enabled"):
        build_services(scan, hub, clock, ["BTC/USDT"])
    assert make_calendar(ServicesSettings()) is None
