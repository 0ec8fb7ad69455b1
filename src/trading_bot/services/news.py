"""News from RSS and Atom feeds: fetched on a schedule, deduplicated, tagged with the currencies
and traded symbols they mention, published as `NewsReceived`, and handed to the notifiers when
they concern what the bot trades.

feedparser reads every RSS and Atom dialect; it runs in a worker thread for large documents so
that the event loop never waits on it. An item is known by its id (guid), else its link, else
its title and date, and is published once. Items older than `max_age_hours` are remembered but
not published, so that a (re)start does not replay a feed's whole history to people.
"""

from __future__ import annotations

import asyncio
import calendar
import hashlib
import io
import re
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import feedparser
import msgspec
import structlog

from trading_bot.core.clock import Clock
from trading_bot.core.events import Event, EventType
from trading_bot.core.hub import EventHub
from trading_bot.services.currencies import currencies_of
from trading_bot.services.http import Fetcher, describe_url
from trading_bot.services.settings import NewsSettings
from trading_bot.venues.errors import InvalidRequest, VenueError

log = structlog.get_logger("trading_bot.news")

NEWS_RECEIVED = EventType.NEWS_RECEIVED
HOUR_MS = 3_600_000
_TAGS = re.compile(r"<[^>]+>")
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True, slots=True)
class NewsItem:
    key: str  # what it is known by: its id, link, or a hash of title and date
    title: str
    link: str
    source: str  # the feed's title, or its host and path
    published: int | None  # epoch ms, if the feed says
    summary: str
    currencies: tuple[str, ...]  # codes mentioned, sorted
    symbols: tuple[str, ...]  # traded symbols it concerns (a currency of theirs mentioned)


@dataclass(slots=True)
class NewsReceived(Event):
    """A news item seen for the first time."""

    type: ClassVar[EventType] = NEWS_RECEIVED
    item: NewsItem
    time: int


class FeedEntry(msgspec.Struct):
    """What we read of a feedparser entry; unknown keys are ignored."""

    id: str = ""
    link: str = ""
    title: str = ""
    summary: str = ""
    published_parsed: tuple[int, ...] | None = None
    updated_parsed: tuple[int, ...] | None = None


class Tagger:
    """Finds the currencies a text mentions, by code (whole word, as written: "EUR") or by
    alias (whole word, any case: "euro"), and the traded symbols they concern."""

    def __init__(self, symbols: Sequence[str], aliases: Mapping[str, Iterable[str]]) -> None:
        self.symbols = tuple(symbols)
        codes = {c for symbol in symbols for c in currencies_of(symbol)} | set(aliases)
        alternatives = "|".join(sorted(map(re.escape, codes), key=len, reverse=True))
        self._pair = re.compile(rf"(?<![A-Za-z])({alternatives})({alternatives})(?![A-Za-z])")
        self._patterns = {code: _pattern(code, tuple(aliases.get(code, ()))) for code in codes}

    def tag(self, text: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """(currencies mentioned, traded symbols concerned)."""
        text = self._pair.sub(r"\1/\2", text)  # "EURUSD" as "EUR/USD"
        found = {code for code, pattern in self._patterns.items() if pattern.search(text)}
        symbols = tuple(s for s in self.symbols if found & set(currencies_of(s)))
        return tuple(sorted(found)), symbols


def _pattern(code: str, aliases: tuple[str, ...]) -> re.Pattern[str]:
    """`code` as a word, as written ("USD", not inside "USDT"), or one of its aliases as a
    word, in any case."""
    forms = [f"{re.escape(code)}(?![A-Za-z])"]
    if aliases:
        words = "|".join(re.escape(alias) for alias in aliases)
        forms.append(f"(?i:(?:{words})(?![a-z]))")
    return re.compile(rf"(?<![A-Za-z])(?:{'|'.join(forms)})")


def parse_feed(document: bytes) -> tuple[str, list[FeedEntry]]:
    """The feed's title and entries; a document that is no feed raises InvalidRequest."""
    parsed = feedparser.parse(io.BytesIO(document))
    if parsed.get("bozo") and not parsed.get("entries"):
        problem = parsed.get("bozo_exception")
        raise InvalidRequest(f"not a readable RSS or Atom feed ({type(problem).__name__})")
    feed: Mapping[str, Any] = parsed.get("feed", {})
    entries = []
    for entry in parsed["entries"]:
        try:
            entries.append(msgspec.convert(dict(entry), FeedEntry, strict=False))
        except msgspec.ValidationError as exc:  # one odd entry does not spoil the feed
            log.warning("news entry skipped", error=str(exc))
    return str(feed.get("title", "")), entries


class NewsService:
    """Polls the feeds (`poll` is the scheduler's job) and publishes what is new."""

    def __init__(
        self,
        settings: NewsSettings,
        hub: EventHub,
        clock: Clock,
        fetcher: Fetcher,
        symbols: Sequence[str],
        notify: Callable[[NewsItem], None] | None = None,
    ) -> None:
        self.settings = settings
        self.hub = hub
        self.clock = clock
        self.fetcher = fetcher
        self.tagger = Tagger(symbols, settings.aliases)
        self.notify = notify
        self.published = 0
        self.failures: dict[str, str] = {}  # feed (as shown) -> its last error
        self._seen: OrderedDict[str, None] = OrderedDict()

    async def poll(self) -> None:
        """Poll every feed; one that fails is logged and the others go on. Raises only when
        every feed failed, so that the scheduler counts it and backs off."""
        errors: list[VenueError] = []
        for url in self.settings.feeds:
            where = describe_url(url)
            try:
                await self.poll_feed(url)
                self.failures.pop(where, None)
            except VenueError as exc:
                self.failures[where] = str(exc)
                errors.append(exc)
                log.warning("news feed failed", feed=where, error=str(exc))
        if errors and len(errors) == len(self.settings.feeds):
            raise errors[0]

    async def poll_feed(self, url: str) -> list[NewsItem]:
        """Fetch one feed and publish its new items; returns them."""
        document = await self.fetcher.get(url)
        if document is None:  # not modified
            return []
        try:
            if len(document) > self.settings.thread_above_bytes:
                title, entries = await asyncio.to_thread(parse_feed, document)
            else:
                title, entries = parse_feed(document)
        except InvalidRequest:
            self.fetcher.forget(url)  # an unchanged broken document is still broken
            raise
        source = title or describe_url(url)
        now = self.clock.now_ms()
        oldest = now - round(self.settings.max_age_hours * HOUR_MS)
        fresh = []
        for entry in entries:
            item = self._item(entry, source)
            if not self._remember(item.key):
                continue
            if item.published is not None and item.published < oldest:
                continue
            fresh.append(item)
        fresh.sort(key=lambda i: i.published or now)
        for item in fresh:
            self.published += 1
            self.hub.publish(NewsReceived(item, now))
            if self.notify is not None and self.settings.notify and item.symbols:
                self.notify(item)
        return fresh

    def _item(self, entry: FeedEntry, source: str) -> NewsItem:
        title = _plain(entry.title)
        summary = _plain(entry.summary)
        stamp = entry.published_parsed or entry.updated_parsed
        published = calendar.timegm(stamp[:6]) * 1000 if stamp and len(stamp) >= 6 else None
        key = entry.id or entry.link
        if not key:
            key = hashlib.sha1(f"{title}|{published}".encode(), usedforsecurity=False).hexdigest()
        currencies, symbols = self.tagger.tag(f"{title} {summary}")
        return NewsItem(key, title, entry.link, source, published, summary, currencies, symbols)

    def _remember(self, key: str) -> bool:
        """Whether `key` is new (then remembered, the oldest forgotten past `remember`)."""
        if key in self._seen:
            self._seen.move_to_end(key)
            return False
        self._seen[key] = None
        while len(self._seen) > self.settings.remember:
            self._seen.popitem(last=False)
        return True


def _plain(html: str) -> str:
    """Text without markup or runs of white space."""
    return _SPACES.sub(" ", _TAGS.sub(" ", html)).strip()
