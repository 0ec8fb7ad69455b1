"""The OANDA feed end to end: real EUR/USD prices through the fake's pricing stream into a real
EventHub and DataProcessor.

Whatever the stream suffers, the closed candles the DataProcessor publishes must be exactly the
candles the venue's own candles endpoint returns for the period: every one, once, in order.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import pytest

from tests.venues.oanda.conftest import FIVE_S, SYMBOL, OandaHarness, candles
from trading_bot.core.events import FeedRestored, FeedStale
from trading_bot.core.model import Candle
from trading_bot.testing.fake_oanda import FakeOanda, StreamFaults
from trading_bot.venues.errors import AuthError
from trading_bot.venues.oanda import OandaRest
from trading_bot.venues.oanda.feed import OandaFeed

Frames = Callable[[int], pd.DataFrame]


async def venue_candles(run: OandaHarness, first: Candle) -> list[Candle]:
    """What the fake's candles endpoint says the period holds, through the production client."""
    async with OandaRest(run.settings) as rest:
        return [c async for page in rest.iter_candles(SYMBOL, "5s", first.open_time) for c in page]


async def test_a_stream_cut_again_and_again_gives_exactly_the_venues_candles(
    fives: Frames,
) -> None:
    frame = fives(400)
    expected = candles(frame)
    faults = StreamFaults(cut_after=40, malformed_every=97)
    async with FakeOanda({SYMBOL: frame}, pace_s=0.0005, heartbeat_s=0.02, faults=faults) as fake:
        run = OandaHarness(fake)
        run.resume_before(expected[0])
        run.start()
        try:
            await run.until(lambda: len(run.closed) == len(expected), timeout=40)
            venue = await venue_candles(run, expected[0])
        finally:
            await run.stop()
    assert run.closed == venue == expected
    # cut again and again (how often depends on how fast reconnections are, on a busy machine)
    assert fake.connections > 5 and fake.sent_faults["cut"] >= fake.connections - 1
    assert run.feed.stream is not None
    # every malformed line that arrived was dropped (a cut may lose the line in flight)
    assert 0 < sum(run.feed.stream.parser.dropped.values()) <= fake.sent_faults["malformed"]
    # a candle the stream showed whole was built exactly as the venue built it
    # every price was also a quote, whose mid is the price the candles are made of
    last_mid = {q.time - q.time % FIVE_S: (q.bid + q.ask) / 2 for q in run.quotes}
    assert all(q.bid < q.ask for q in run.quotes)
    assert all(last_mid[t] == pytest.approx(c.close) for t, c in run.forming.items())
    built = {c.open_time: c._replace(closed=True) for c in run.forming.values() if c.volume == 4}
    assert len(built) > 50
    assert all(candle == built.get(candle.open_time, candle) for candle in run.closed)


async def test_silence_makes_the_feed_stale_then_it_reconnects_without_loss(
    fives: Frames,
) -> None:
    frame = fives(200)
    expected = candles(frame)
    async with FakeOanda({SYMBOL: frame}, pace_s=0.001, heartbeat_s=0.02) as fake:
        run = OandaHarness(fake, stale_after_s=0.15)
        run.resume_before(expected[0])
        run.start()
        try:
            await run.until(lambda: len(run.closed) >= 20)
            fake.mute()
            await run.until(lambda: any(isinstance(e, FeedRestored) for e in run.status))
            await run.until(lambda: len(run.closed) == len(expected))
        finally:
            await run.stop()
    assert run.closed == expected
    stale, restored = run.status[:2]
    assert (
        isinstance(stale, FeedStale) and "nothing, not even a heartbeat, for 0.15 s" in stale.detail
    )
    assert isinstance(restored, FeedRestored)
    assert fake.connections >= 2


async def test_a_closed_market_raises_no_alarm_and_trading_hours_resume_seamlessly(
    fives: Frames,
) -> None:
    frame = fives(120)
    expected = candles(frame)
    async with FakeOanda({SYMBOL: frame}, pace_s=0.001, heartbeat_s=0.02) as fake:
        run = OandaHarness(fake, stale_after_s=0.1)
        run.resume_before(expected[0])
        run.start()
        try:
            await run.until(lambda: len(run.closed) >= 30)
            await fake.close_market()
            for connections in (2, 3):  # the connection dies over the weekend, twice
                fake.mute()
                await fake.connected(connections)
            assert not run.feed.market_open
            fake.open_market()
            await run.until(lambda: len(run.closed) == len(expected))
        finally:
            await run.stop()
    assert run.closed == expected
    assert run.status == []  # reconnected twice, and nobody was alarmed


async def test_a_rest_outage_delays_closed_candles_but_loses_none(fives: Frames) -> None:
    frame = fives(200)
    expected = candles(frame)
    async with FakeOanda({SYMBOL: frame}, pace_s=0.001, heartbeat_s=0.02) as fake:
        run = OandaHarness(fake)
        run.resume_before(expected[0])
        run.start()
        try:
            await run.until(lambda: len(run.closed) >= 20)
            fake.fail_rest(503, times=3 * run.settings.rest_attempts, path="/candles")
            await run.until(lambda: any(isinstance(e, FeedRestored) for e in run.status))
            await run.until(lambda: len(run.closed) == len(expected))
        finally:
            await run.stop()
    assert run.closed == expected
    assert "closed candles from REST failed" in run.stale_details()[0]
    assert fake.connections == 1  # the stream itself never faltered


async def test_without_a_stream_closed_candles_still_come_from_rest(fives: Frames) -> None:
    frame = fives(300)
    expected = candles(frame)
    async with FakeOanda({SYMBOL: frame}, pace_s=0.002, heartbeat_s=0.02) as fake:
        fake.refuse_streams(10**6)
        fake.start_market()
        run = OandaHarness(fake, reconnect_min_s=0.02, reconnect_max_s=0.02)
        run.resume_before(expected[0])
        run.start()
        try:
            await run.until(lambda: len(run.closed) > 10)
            assert fake.connections == 0 and run.partials == 0
            assert "HTTP 503" in run.stale_details()[0]
            fake.refuse_streams(0)
            await run.until(lambda: len(run.closed) == len(expected))
        finally:
            await run.stop()
    assert run.closed == expected
    assert isinstance(run.status[-1], FeedRestored)
    assert fake.connections == 1 and run.partials > 0


async def test_a_first_start_begins_with_the_candle_forming_at_the_venue(fives: Frames) -> None:
    frame = fives(150)
    expected = candles(frame)
    live_from = expected[100].open_time
    async with FakeOanda(
        {SYMBOL: frame}, pace_s=0.001, heartbeat_s=0.02, live_from_ms=live_from
    ) as fake:
        run = OandaHarness(fake)
        run.start()
        try:
            await run.until(lambda: len(run.closed) == len(expected) - 99)
        finally:
            await run.stop()
    # the stream's first price is the latest, the close of candle 99; REST gives that candle
    assert run.closed == expected[99:]


async def test_a_missing_token_is_an_error_naming_the_setting(fives: Frames) -> None:
    async with FakeOanda({SYMBOL: fives(10)}) as fake:
        run = OandaHarness(fake, token=None)
        run.start()
        try:
            with pytest.raises(AuthError, match=r"oanda\.token is not set"):
                await run.until(lambda: False)
        finally:
            await run.stop()


async def test_sync_mode_never_streams_and_polls_every_closed_candle(fives: Frames) -> None:
    frame = fives(120)
    expected = candles(frame)
    async with FakeOanda({SYMBOL: frame}, pace_s=0.002, heartbeat_s=0.02) as fake:
        fake.start_market()
        run = OandaHarness(fake)
        run.feed = OandaFeed(
            run.hub,
            fake.clock,
            run.rest,
            run.settings,
            lambda symbol: run.processor.last_closed_time(symbol, FIVE_S),
            poll_only=True,
        )
        run.resume_before(expected[0])
        run.start()
        try:
            await run.until(lambda: len(run.closed) == len(expected))
        finally:
            await run.stop()
    assert run.closed == expected
    assert fake.connections == 0 and run.partials == 0  # no stream, no forming candles
