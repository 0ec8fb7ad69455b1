"""The economic calendar: no new entries around high-impact events of the traded currencies.

Source: the widely used weekly calendar XML (ForexFactory's `ff_calendar_thisweek.xml`)::

    <weeklyevents>
      <event>
        <title>Non-Farm Employment Change</title>
        <country>USD</country>           the currency it moves ("ALL": every currency)
        <date>11-06-2026</date>          MM-DD-YYYY
        <time>1:30pm</time>              h:mmam/pm, or "All Day", "Tentative", empty
        <impact>High</impact>            High, Medium, Low or Holiday
        <forecast>120K</forecast>
        <previous>254K</previous>
      </event>
    </weeklyevents>

Times are read in `calendar.timezone` (default UTC, which is what the public feed publishes;
an export from a site set to another zone needs its IANA name). An event without a clock time
("All Day", "Tentative" or anything unreadable) blacks out its whole day in that zone: when it
comes is unknown, so the whole day is treated as "around it".

Each event of an `impacts` level becomes a blackout window from `minutes_before` to
`minutes_after` around it, for its currency and the currencies `also_affects` maps it to (a USD
event moves USDT pairs). `EconomicCalendar` is the risk manager's `EntryGate`: an entry is
refused with the event named; exits are never blocked. `flatten_job` optionally closes positions
shortly before an event.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from bisect import bisect_right
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import msgspec
import structlog

from trading_bot.core.clock import Clock, datetime_to_ms, ms_to_iso
from trading_bot.services.currencies import currencies_of
from trading_bot.services.http import Fetcher, describe_url
from trading_bot.services.scheduler import Job
from trading_bot.services.settings import CalendarSettings
from trading_bot.venues.errors import InvalidRequest

log = structlog.get_logger("trading_bot.calendar")

MINUTE_MS = 60_000
EVERY_CURRENCY = "ALL"
_CLOCK_TIME = re.compile(r"(\d{1,2}):(\d{2})\s*([ap]m)", re.I)


class RawEvent(msgspec.Struct, frozen=True):
    """One `<event>` as its child elements' text; unknown children are ignored."""

    title: str
    country: str
    date: str
    time: str = ""
    impact: str = ""
    forecast: str = ""
    previous: str = ""


@dataclass(frozen=True, slots=True)
class CalendarEvent:
    title: str
    currency: str
    time: int  # epoch ms; the start of its day when `timed` is False
    timed: bool  # False: all day, tentative or an unreadable time
    impact: str
    forecast: str = ""
    previous: str = ""

    def describe(self) -> str:
        when = ms_to_iso(self.time) if self.timed else f"{ms_to_iso(self.time)[:10]} (all day)"
        return f"{self.impact}-impact {self.currency} event '{self.title}' at {when}"


@dataclass(frozen=True, slots=True)
class Blackout:
    start: int
    end: int
    event: CalendarEvent


def parse_calendar(document: bytes, zone: ZoneInfo) -> list[CalendarEvent]:
    """The events of a weekly calendar XML, in time order. An event that lacks a title,
    currency or readable date is skipped (and counted in the log); a malformed document raises
    InvalidRequest."""
    try:
        root = ET.fromstring(document)
    except ET.ParseError as exc:
        raise InvalidRequest(f"the calendar is not readable XML ({exc})") from None
    events, skipped = [], 0
    for element in root.iter("event"):
        fields = {child.tag: (child.text or "").strip() for child in element}
        try:
            raw = msgspec.convert(fields, RawEvent)
            events.append(_event(raw, zone))
        except (msgspec.ValidationError, ValueError):
            skipped += 1
    if skipped:
        log.warning("calendar events skipped as unreadable", skipped=skipped)
    return sorted(events, key=lambda e: e.time)


def _event(raw: RawEvent, zone: ZoneInfo) -> CalendarEvent:
    if not raw.title or not raw.country:
        raise ValueError("an event needs a title and a currency")
    day = datetime.strptime(raw.date, "%m-%d-%Y").date()
    clock = _CLOCK_TIME.fullmatch(raw.time)
    if clock is None:
        start = datetime.combine(day, time(0), zone)
    else:
        hour = int(clock[1]) % 12 + (12 if clock[3].lower() == "pm" else 0)
        start = datetime.combine(day, time(hour, int(clock[2])), zone)
    return CalendarEvent(
        title=raw.title,
        currency=raw.country.upper(),
        time=datetime_to_ms(start),
        timed=clock is not None,
        impact=raw.impact,
        forecast=raw.forecast,
        previous=raw.previous,
    )


def _day_end_ms(event: CalendarEvent, zone: ZoneInfo) -> int:
    """The end of an untimed event's day in the feed's zone (a DST day is not 24 h)."""
    day: date = datetime.fromtimestamp(event.time / 1000, zone).date()
    return datetime_to_ms(datetime.combine(day + timedelta(days=1), time(0), zone))


class EconomicCalendar:
    """The blackout windows of the loaded events, by currency: the risk manager's EntryGate."""

    def __init__(self, settings: CalendarSettings) -> None:
        self.settings = settings
        self.zone = ZoneInfo(settings.timezone)
        self.events: list[CalendarEvent] = []
        self.loaded = False
        self._windows: dict[str, list[Blackout]] = {}
        self._starts: dict[str, list[int]] = {}

    def update(self, events: Iterable[CalendarEvent]) -> None:
        """Replace the events (a fresh copy of the week)."""
        s = self.settings
        impacts = {impact.lower() for impact in s.impacts}
        self.events = list(events)
        windows: dict[str, list[Blackout]] = {}
        for event in self.events:
            if event.impact.lower() not in impacts:
                continue
            end = event.time if event.timed else _day_end_ms(event, self.zone)
            window = Blackout(
                event.time - s.minutes_before * MINUTE_MS, end + s.minutes_after * MINUTE_MS, event
            )
            for currency in (event.currency, *s.also_affects.get(event.currency, ())):
                windows.setdefault(currency, []).append(window)
        for blackouts in windows.values():
            blackouts.sort(key=lambda w: w.start)
        self._windows = windows
        self._starts = {c: [w.start for w in ws] for c, ws in windows.items()}
        self.loaded = True

    def blackout(self, symbol: str, time_ms: int) -> Blackout | None:
        """The blackout covering `time_ms` for either currency of `symbol` (the earliest event's
        when several overlap), or None."""
        found: list[Blackout] = []
        for currency in (*currencies_of(symbol), EVERY_CURRENCY):
            windows = self._windows.get(currency, [])
            last = bisect_right(self._starts.get(currency, []), time_ms)
            found.extend(w for w in windows[:last] if w.end >= time_ms)
        return min(found, key=lambda w: w.event.time, default=None)

    def entry_block(self, symbol: str, time_ms: int) -> str | None:
        if not self.loaded and self.settings.block_until_loaded:
            return "economic calendar not loaded yet (calendar.block_until_loaded): no new entries"
        window = self.blackout(symbol, time_ms)
        if window is None:
            return None
        s = self.settings
        return (
            f"news blackout: {window.event.describe()} (no entries from {s.minutes_before} min "
            f"before to {s.minutes_after} min after)"
        )

    def upcoming(self, symbol: str, time_ms: int, within_ms: int) -> CalendarEvent | None:
        """The first blacked-out event of `symbol`'s currencies starting in
        [time_ms, time_ms + within_ms], or None."""
        currencies = {*currencies_of(symbol), EVERY_CURRENCY}
        blackouts = (w for c in currencies for w in self._windows.get(c, []))
        events = [w.event for w in blackouts if time_ms <= w.event.time <= time_ms + within_ms]
        return min(events, key=lambda e: e.time, default=None)


class CalendarService:
    """Keeps an `EconomicCalendar` fresh: `refresh` is the scheduler's job."""

    def __init__(self, calendar: EconomicCalendar, fetcher: Fetcher) -> None:
        self.calendar = calendar
        self.fetcher = fetcher

    async def refresh(self) -> None:
        """Fetch and load the calendar; an unchanged document (HTTP 304) keeps the events.
        Failures raise (the scheduler logs, counts and retries them) and keep the last copy."""
        url = self.calendar.settings.url
        document = await self.fetcher.get(url)
        if document is None:
            return
        try:
            events = parse_calendar(document, self.calendar.zone)
        except InvalidRequest:
            self.fetcher.forget(url)  # an unchanged broken document is still broken
            raise
        self.calendar.update(events)
        log.info("economic calendar loaded", source=describe_url(url), events=len(events))


def flatten_job(
    calendar: EconomicCalendar,
    clock: Clock,
    symbols: Callable[[], Iterable[str]],
    flatten: Callable[[str, str], None],
) -> Job:
    """A scheduled job that calls `flatten(symbol, reason)` once per event for each symbol
    (of those `symbols()` returns: the ones with open positions) when a blacked-out event is
    at most `flatten_minutes_before` away. Run it at least once a minute."""
    minutes = calendar.settings.flatten_minutes_before
    if minutes is None:
        raise ValueError("calendar.flatten_minutes_before is not set")
    done: set[tuple[str, int]] = set()  # (symbol, event time): simultaneous events count once

    async def job() -> None:
        now = clock.now_ms()
        for symbol in symbols():
            event = calendar.upcoming(symbol, now, minutes * MINUTE_MS)
            if event is None or (symbol, event.time) in done:
                continue
            done.add((symbol, event.time))
            log.warning("flattening before an event", symbol=symbol, news=event.describe())
            flatten(symbol, f"flattened before {event.describe()}")

    return job
