"""The issue's end-to-end check: news and the economic calendar come from a local HTTP server in
their real formats, and a high-impact event blocks an sma_cross entry in its window, with the
event named in the rejection; the same candles without the calendar do enter there.

Real data and real events: EUR/USD hourly (OANDA) in the week of the October 2015 US jobs
report, released Friday 2015-11-06 at 13:30 UTC."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pandas as pd

from trading_bot.core.clock import SimulatedClock, datetime_to_ms
from trading_bot.core.events import CandleDataProcessed, OrderRejected, OrderRequestGenerated
from trading_bot.core.hub import EventHub
from trading_bot.core.model import Instrument, OrderRole
from trading_bot.core.settings import PipelineSettings
from trading_bot.data.files import iter_candles, load_candles
from trading_bot.pipeline import build_pipeline
from trading_bot.services.calendar import CalendarService, CalendarSettings, EconomicCalendar
from trading_bot.services.http import Fetcher
from trading_bot.services.news import NewsItem, NewsReceived, NewsService, NewsSettings
from trading_bot.strategies.sma_cross import SmaCross, SmaCrossParams
from trading_bot.testing.fake_feeds import FakeFeedServer

FIXTURES = Path(__file__).parent / "fixtures"
SYMBOL = "EUR/USD"
HOUR = 3_600_000
NFP_CLOSE = datetime_to_ms(pd.Timestamp("2015-11-06T14:00:00Z").to_pydatetime())


def _week(shared_data: Path) -> pd.DataFrame:
    frame = load_candles(shared_data / "oanda-EURUSD-1h.csv.gz")
    return frame.loc["2015-11-01":"2015-11-06"]


def _run(
    week: pd.DataFrame, calendar: EconomicCalendar | None
) -> tuple[list[OrderRejected], list[OrderRequestGenerated]]:
    clock = SimulatedClock()
    strategy = SmaCross(SmaCrossParams(fast=2, slow=5), SYMBOL, HOUR)
    instrument = Instrument(SYMBOL, Decimal("0.00001"), Decimal(1))
    pipeline = build_pipeline(
        PipelineSettings(),
        clock,
        strategy,
        instrument,
        entry_gate=calendar,
    )
    rejected: list[OrderRejected] = []
    requests: list[OrderRequestGenerated] = []
    pipeline.hub.subscribe(OrderRejected, rejected.append, 1000)
    pipeline.hub.subscribe(OrderRequestGenerated, requests.append, 1000)
    for candle in iter_candles(week, SYMBOL, HOUR):
        clock.advance_to(candle.close_time)
        pipeline.hub.publish(CandleDataProcessed(candle))
    return rejected, requests


def _entries_at(requests: list[OrderRequestGenerated], time: int) -> list[OrderRequestGenerated]:
    return [r for r in requests if r.request.time == time and r.request.role is OrderRole.ENTRY]


async def test_a_high_impact_event_blocks_an_sma_cross_entry_in_its_window(
    shared_data: Path,
) -> None:
    week = _week(shared_data)
    news_seen: list[NewsReceived] = []
    notified: list[NewsItem] = []
    async with FakeFeedServer() as server, Fetcher(timeout_s=5) as fetcher:
        server.put(
            "/ff_calendar_thisweek.xml", (FIXTURES / "ff_calendar_thisweek.xml").read_bytes()
        )
        server.put("/news.rss", (FIXTURES / "news.rss").read_bytes(), "application/rss+xml")
        settings = CalendarSettings(enabled=True, url=server.url("/ff_calendar_thisweek.xml"))
        calendar = EconomicCalendar(settings)
        await CalendarService(calendar, fetcher).refresh()

        # the news of that afternoon, as the bot would see it at 14:05 UTC
        clock = SimulatedClock(NFP_CLOSE + 5 * 60_000)
        news_settings = NewsSettings(enabled=True, feeds=(server.url("/news.rss"),))
        rejected, requests = _run(week, calendar)
        hub = EventHub()
        hub.subscribe(NewsReceived, news_seen.append)
        news = NewsService(news_settings, hub, clock, fetcher, [SYMBOL], notified.append)
        await news.poll()

    # the entry at the 14:00 close (the candle of the 13:30 release) is refused, naming the event
    blocked = [r for r in rejected if r.time == NFP_CLOSE]
    assert len(blocked) == 1
    assert "Non-Farm Employment Change" in blocked[0].reason
    assert "2015-11-06T13:30:00Z" in blocked[0].reason
    assert blocked[0].symbol == SYMBOL
    assert _entries_at(requests, NFP_CLOSE) == []
    # exits are never blocked: the long held into the release is still closed at that candle
    exits = [
        r for r in requests if r.request.time == NFP_CLOSE and r.request.role is OrderRole.EXIT
    ]
    assert len(exits) == 1
    # only the news window refused anything: every other rejection names no event
    assert all("news blackout" not in r.reason for r in rejected if r.time != NFP_CLOSE)
    # without the calendar, the very same candles enter there
    _, ungated = _run(week, None)
    assert len(_entries_at(ungated, NFP_CLOSE)) == 1
    other_entries = {r.request.time for r in ungated if r.request.role is OrderRole.ENTRY}
    gated_entries = {r.request.time for r in requests if r.request.role is OrderRole.ENTRY}
    assert other_entries - gated_entries == {NFP_CLOSE}

    # the news: three fresh items published, the two about EUR/USD sent to the notifiers
    titles = [event.item.title for event in news_seen]
    assert len(titles) == 3 and not any("Yen" in t for t in titles)  # a week old: not published
    assert [item.title for item in notified] == [
        "U.S. payrolls surge 271,000 in October, dollar jumps",
        "Euro slides to six-month low after U.S. jobs report",
    ]
    assert notified[0].currencies == ("EUR", "USD") and notified[0].symbols == (SYMBOL,)
    assert notified[0].source == "Markets Wire"
