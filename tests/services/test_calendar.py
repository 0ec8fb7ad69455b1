"""The economic calendar: reading the weekly XML, blackout windows, the entry gate, refreshes and
flattening before an event."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from trading_bot.core.clock import SimulatedClock, datetime_to_ms
from trading_bot.services.calendar import (
    CalendarService,
    CalendarSettings,
    EconomicCalendar,
    flatten_job,
    parse_calendar,
)
from trading_bot.services.http import Fetcher
from trading_bot.testing.fake_feeds import FakeFeedServer
from trading_bot.venues.errors import InvalidRequest, TemporaryError

FIXTURE = (Path(__file__).parent / "fixtures" / "ff_calendar_thisweek.xml").read_bytes()
MINUTE = 60_000
UTC_ZONE = ZoneInfo("UTC")


def at(text: str) -> int:
    return datetime_to_ms(datetime.fromisoformat(text).replace(tzinfo=UTC))


def loaded(**settings: object) -> EconomicCalendar:
    calendar = EconomicCalendar(CalendarSettings(enabled=True, **settings))  # type: ignore[arg-type]
    calendar.update(parse_calendar(FIXTURE, calendar.zone))
    return calendar


def _event(date: str, time: str, impact: str = "High", country: str = "USD") -> bytes:
    return (
        f"<weeklyevents><event><title>X</title><country>{country}</country><date>{date}</date>"
        f"<time>{time}</time><impact>{impact}</impact></event></weeklyevents>"
    ).encode()


def test_the_weekly_xml_is_read_with_its_times_in_the_feed_zone() -> None:
    events = parse_calendar(FIXTURE, UTC_ZONE)
    assert len(events) == 10
    nfp = next(e for e in events if e.title == "Non-Farm Employment Change")
    assert (nfp.currency, nfp.impact, nfp.timed) == ("USD", "High", True)
    assert nfp.time == at("2015-11-06T13:30")
    assert (nfp.forecast, nfp.previous) == ("183K", "142K")
    rate = next(e for e in events if e.title == "Cash Rate")
    assert rate.time == at("2015-11-03T03:30")
    noon = next(e for e in events if e.title == "BOE Inflation Report")
    assert noon.time == at("2015-11-05T12:00")  # 12:00pm is noon
    g20 = next(e for e in events if e.title == "G20 Meetings")
    assert not g20.timed and g20.time == at("2015-11-15T00:00")  # "Tentative": the whole day
    assert [e.time for e in events] == sorted(e.time for e in events)
    # the same document from a site set to New York time (EST in November: UTC-5)
    (midnight,) = parse_calendar(_event("11-06-2015", "12:15am"), ZoneInfo("America/New_York"))
    assert midnight.time == at("2015-11-06T05:15")
    (summer,) = parse_calendar(_event("07-02-2015", "8:30am"), ZoneInfo("America/New_York"))
    assert summer.time == at("2015-07-02T12:30")  # EDT: UTC-4


def test_unreadable_events_are_skipped_and_a_broken_document_is_refused() -> None:
    broken = b"<weeklyevents><event><title>A</title><country>USD</country>" + (
        b"<date>13-45-2015</date></event><event><title>B</title></event>"
        b"<event><title>C</title><country>EUR</country><date>11-06-2015</date></event>"
        b"</weeklyevents>"
    )
    events = parse_calendar(broken, UTC_ZONE)
    assert [(e.title, e.timed) for e in events] == [("C", False)]
    with pytest.raises(InvalidRequest):
        parse_calendar(b"<weeklyevents><event>", UTC_ZONE)


def test_entries_are_blocked_within_the_window_of_high_impact_events_only() -> None:
    calendar = loaded()
    nfp = at("2015-11-06T13:30")
    reason = calendar.entry_block("EUR/USD", nfp - 30 * MINUTE)
    assert reason is not None and "Non-Farm Employment Change" in reason
    assert calendar.entry_block("EUR/USD", nfp + 30 * MINUTE) is not None
    assert calendar.entry_block("EUR/USD", nfp - 30 * MINUTE - 1) is None
    assert calendar.entry_block("EUR/USD", nfp + 30 * MINUTE + 1) is None
    # the currencies of the symbol decide: GBP events block GBP pairs, not EUR/USD
    boe = at("2015-11-05T12:00")
    assert calendar.entry_block("EUR/USD", boe) is None
    assert calendar.entry_block("GBP/JPY", boe) is not None
    # medium, low and holiday impact do not block by default
    assert calendar.entry_block("EUR/USD", at("2015-11-04T08:00")) is None
    assert loaded(impacts=("High", "Medium")).entry_block("EUR/USD", at("2015-11-04T08:00"))
    # a USD event moves USDT pairs too; an "ALL" event every pair, its whole (tentative) day
    assert calendar.entry_block("BTC/USDT", nfp) is not None
    assert calendar.entry_block("AUD/NZD", at("2015-11-15T23:59")) is not None
    assert calendar.entry_block("AUD/NZD", at("2015-11-16T00:31")) is None


def test_the_window_is_configurable_and_the_reason_names_the_first_event() -> None:
    calendar = loaded(minutes_before=90, minutes_after=5)
    nfp = at("2015-11-06T13:30")
    reason = calendar.entry_block("EUR_USD", nfp - 90 * MINUTE)
    assert reason == (
        "news blackout: High-impact USD event 'Non-Farm Employment Change' at "
        "2015-11-06T13:30:00Z (no entries from 90 min before to 5 min after)"
    )
    assert calendar.entry_block("EUR/USD", nfp + 6 * MINUTE) is None


def test_until_loaded_entries_pass_unless_configured_to_wait() -> None:
    assert EconomicCalendar(CalendarSettings()).entry_block("EUR/USD", 0) is None
    waiting = EconomicCalendar(CalendarSettings(block_until_loaded=True))
    assert "not loaded" in (waiting.entry_block("EUR/USD", 0) or "")
    waiting.update([])
    assert waiting.entry_block("EUR/USD", 0) is None


def test_settings_reject_unknown_zones_and_keys() -> None:
    with pytest.raises(ValidationError, match="unknown time zone"):
        CalendarSettings(timezone="Mars/Olympus")
    with pytest.raises(ValidationError):
        CalendarSettings(minutes_befor=10)  # type: ignore[call-arg]


async def test_a_refresh_loads_keeps_on_not_modified_and_keeps_the_last_copy_on_failure() -> None:
    async with FakeFeedServer() as server, Fetcher(timeout_s=0.5) as fetcher:
        server.put("/cal.xml", FIXTURE)
        calendar = EconomicCalendar(CalendarSettings(enabled=True, url=server.url("/cal.xml")))
        service = CalendarService(calendar, fetcher)
        await service.refresh()
        assert len(calendar.events) == 10
        await service.refresh()  # unchanged: a conditional GET answered 304
        assert [r.status for r in server.requests] == [200, 304]
        assert "If-None-Match" not in server.requests[0].headers
        assert server.requests[1].headers["If-None-Match"].startswith('"')
        assert len(calendar.events) == 10
        server.fail("/cal.xml", 503)
        with pytest.raises(TemporaryError, match="HTTP 503"):
            await service.refresh()
        server.hang("/cal.xml")
        with pytest.raises(TemporaryError, match="TimeoutError"):
            await service.refresh()
        assert len(calendar.events) == 10  # the last good copy still blocks
        assert calendar.entry_block("EUR/USD", at("2015-11-06T13:30")) is not None


async def test_flatten_job_closes_each_symbol_once_before_an_event() -> None:
    calendar = loaded(flatten_minutes_before=15)
    clock = SimulatedClock(at("2015-11-06T13:00"))
    held = ["EUR/USD", "GBP/JPY"]
    flattened: list[tuple[str, str]] = []
    job = flatten_job(calendar, clock, lambda: held, lambda s, r: flattened.append((s, r)))
    await job()
    assert flattened == []  # 30 min before: not yet
    clock.advance_to(at("2015-11-06T13:15"))
    await job()
    await job()  # once per event
    assert [s for s, _ in flattened] == ["EUR/USD"]
    assert "Non-Farm Employment Change" in flattened[0][1]
    with pytest.raises(ValueError, match="flatten_minutes_before"):
        flatten_job(loaded(), clock, lambda: held, lambda s, r: None)
