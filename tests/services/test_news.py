"""News feeds: RSS and Atom read by feedparser from a local server, deduplicated, tagged with
currencies and traded symbols, published as events, notified when they concern the bot."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest

from trading_bot.core.clock import SimulatedClock, datetime_to_ms
from trading_bot.core.hub import EventHub
from trading_bot.services.http import Fetcher
from trading_bot.services.news import NewsItem, NewsReceived, NewsService, Tagger
from trading_bot.services.settings import DEFAULT_ALIASES, NewsSettings
from trading_bot.testing.fake_feeds import FakeFeedServer
from trading_bot.venues.errors import InvalidRequest, TemporaryError

RSS = (Path(__file__).parent / "fixtures" / "news.rss").read_bytes()
NOW = 1_446_818_700_000  # 2015-11-06T14:05Z

ATOM = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <title>Crypto Desk</title>
  <id>urn:uuid:60a76c80-d399-11d9-b93C-0003939e0af6</id>
  <updated>2015-11-06T14:00:00Z</updated>
  <entry>
    <title>Bitcoin jumps 8% as volumes surge</title>
    <link href="https://crypto.example.com/btc-jumps"/>
    <id>urn:uuid:1225c695-cfb8-4ebb-aaaa-80da344efa6a</id>
    <updated>2015-11-06T13:58:00Z</updated>
    <summary>BTC/USDT traded above its weekly range.</summary>
  </entry>
  <entry>
    <title>Exchange adds new listing</title>
    <link href="https://crypto.example.com/listing"/>
    <updated>2015-11-06T13:00:00Z</updated>
    <summary>No coin named here.</summary>
  </entry>
</feed>
"""


@dataclass
class Setup:
    server: FakeFeedServer
    fetcher: Fetcher
    hub: EventHub = field(default_factory=EventHub)
    clock: SimulatedClock = field(default_factory=lambda: SimulatedClock(NOW))
    published: list[NewsReceived] = field(default_factory=list)
    notified: list[NewsItem] = field(default_factory=list)

    def service(self, symbols: list[str], **settings: object) -> NewsService:
        self.hub.subscribe(NewsReceived, self.published.append)
        merged = {"enabled": True, **settings}
        return NewsService(
            NewsSettings.model_validate(merged),
            self.hub,
            self.clock,
            self.fetcher,
            symbols,
            self.notified.append,
        )


@pytest.fixture
async def setup() -> AsyncIterator[Setup]:
    async with FakeFeedServer() as server, Fetcher(timeout_s=2) as fetcher:
        yield Setup(server, fetcher)


async def test_items_are_published_once_and_new_ones_later(setup: Setup) -> None:
    server = setup.server
    server.put("/news.rss", RSS, "application/rss+xml")
    news = setup.service(["EUR/USD"], feeds=[server.url("/news.rss")])
    await news.poll()
    assert len(setup.published) == 3
    assert [e.item.published for e in setup.published] == sorted(
        e.item.published or 0 for e in setup.published
    )  # oldest first
    first = setup.published[0].item
    assert first.title.startswith("Oil") and first.currencies == () and first.symbols == ()
    assert first.key == "mw-20151106-0003"  # the guid
    assert setup.published[0].time == NOW

    await news.poll()  # unchanged (HTTP 304): nothing again
    server.put("/news.rss", RSS.replace(b"<item>", b"<item><title>x</title></item><item>", 1))
    await news.poll()  # changed, with the same items again plus one: only the new one
    assert len(setup.published) == 4
    assert setup.published[-1].item.title == "x"
    assert [r.status for r in server.requests] == [200, 304, 200]
    assert len(setup.notified) == 2  # only the EUR/USD items, once each


async def test_atom_items_without_an_id_are_known_by_their_link(setup: Setup) -> None:
    setup.server.put("/atom.xml", ATOM, "application/atom+xml")
    news = setup.service(["BTC/USDT", "ETH/USDT"], feeds=[setup.server.url("/atom.xml")])
    fresh = await news.poll_feed(setup.server.url("/atom.xml"))
    assert [i.key for i in fresh] == [
        "https://crypto.example.com/listing",
        "urn:uuid:1225c695-cfb8-4ebb-aaaa-80da344efa6a",
    ]
    btc = fresh[1]
    assert btc.source == "Crypto Desk"
    assert btc.published == datetime_to_ms_iso("2015-11-06T13:58:00")
    assert btc.currencies == ("BTC", "USDT") and btc.symbols == ("BTC/USDT", "ETH/USDT")
    assert [i.title for i in setup.notified] == ["Bitcoin jumps 8% as volumes surge"]


def datetime_to_ms_iso(text: str) -> int:
    return datetime_to_ms(datetime.fromisoformat(text).replace(tzinfo=UTC))


async def test_large_documents_are_parsed_in_a_thread_alike(setup: Setup) -> None:
    setup.server.put("/news.rss", RSS)
    news = setup.service(["EUR/USD"], feeds=[setup.server.url("/news.rss")], thread_above_bytes=0)
    fresh = await news.poll_feed(setup.server.url("/news.rss"))
    assert len(fresh) == 3


async def test_a_failing_feed_never_stops_the_others(setup: Setup) -> None:
    server = setup.server
    server.put("/good.rss", RSS)
    server.put("/junk.rss", b"this is not a feed at all {")
    feeds = [server.url("/missing.rss"), server.url("/junk.rss"), server.url("/good.rss")]
    news = setup.service(["EUR/USD"], feeds=feeds)
    await news.poll()  # two of three failed: logged, not raised
    assert len(setup.published) == 3
    assert set(news.failures) == {server.url("/missing.rss"), server.url("/junk.rss")}
    assert "HTTP 404" in news.failures[server.url("/missing.rss")]
    server.fail("/good.rss", 502)
    server.put("/good.rss", RSS + b" ")  # changed, so that it is fetched in full
    with pytest.raises(InvalidRequest):  # every feed failed: the scheduler sees it
        await news.poll()
    server.put("/missing.rss", RSS)
    await news.poll()  # the feeds that work again clear their failure
    assert set(news.failures) == {server.url("/junk.rss")}


async def test_urls_with_keys_are_never_shown(setup: Setup) -> None:
    server = setup.server
    secret_url = server.url("/private.rss").replace("http://", "http://user:hunter2@") + (
        "?apikey=s3cr3t"
    )
    news = setup.service(["EUR/USD"], feeds=[secret_url])
    server.fail("/private.rss", 500)
    with pytest.raises(TemporaryError) as caught:
        await news.poll()
    shown = str(caught.value) + repr(news.failures)
    assert "s3cr3t" not in shown and "hunter2" not in shown
    assert "/private.rss" in shown


def test_tagging_by_code_pair_and_alias_never_inside_words() -> None:
    tagger = Tagger(["EUR/USD", "BTC/USDT"], DEFAULT_ALIASES)
    assert tagger.tag("EURUSD slides.") == (("EUR", "USD"), ("EUR/USD",))
    assert tagger.tag("USDT supply grows") == (("USDT",), ("BTC/USDT",))
    assert tagger.tag("The euro gains; Fed on hold") == (("EUR", "USD"), ("EUR/USD",))
    assert tagger.tag("Federal budget, eurobonds, DEUR") == ((), ())
    assert tagger.tag("Sterling rallies") == (("GBP",), ())  # a currency we do not trade
