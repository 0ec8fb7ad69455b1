"""The Binance feed end to end: real candles through the fake, a real EventHub and DataProcessor.

Whatever the stream suffers, the closed candles the DataProcessor publishes must equal the source
series exactly: every one, once, in order, with the same OHLCV.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pandas as pd
import pytest

from tests.venues.conftest import FAST, SECOND, SYMBOL, FeedHarness, candles
from trading_bot.config import load_settings
from trading_bot.core.events import (
    CandleDataProcessed,
    FeedRestored,
    FeedStale,
    MarketDataReceived,
    QuoteUpdated,
)
from trading_bot.core.hub import EventHub
from trading_bot.core.model import Candle, Quote, Tick
from trading_bot.data.processor import DataProcessor
from trading_bot.testing.fake_binance import FakeBinance, StreamFaults
from trading_bot.venues.binance.stream import interval_ms
from trading_bot.venues.binance.websocket_manager import (
    ReconnectionConfig,
    create_binance_websocket_manager,
)

Frames = Callable[[int], pd.DataFrame]


async def test_chaos_disconnects_duplicates_reordering_and_garbage_lose_nothing(
    seconds: Frames,
) -> None:
    frame = seconds(2000)
    expected = candles(frame, SECOND)
    faults = StreamFaults(
        drop_after=50, duplicate_every=37, reorder_every=101, malformed_every=173, lose_every=89
    )
    async with FakeBinance({SYMBOL: frame}, "1s", faults=faults, pace_s=0.0001) as fake:
        run = FeedHarness(fake, "1s")
        # as after a restart: the candle before the series was the last one processed
        run.processor.restore_last_closed(SYMBOL, SECOND, expected[0].open_time - SECOND)
        run.start()
        try:
            await run.until(lambda: len(run.closed) == len(expected), timeout=40)
        finally:
            await run.stop()
    assert run.closed == expected
    assert fake.connections > 20  # the market runs on while the feed reconnects
    klines_requests = sum(r.path == "/api/v3/klines" for r in fake.requests)
    assert klines_requests > fake.connections  # lost closes were fetched between reconnections
    assert all(fake.sent_faults[f] for f in ("duplicated", "reordered", "lost", "dropped"))
    assert run.processor.dropped["duplicate"] > 0
    assert run.feed.stream is not None
    assert sum(run.feed.stream.parser.dropped.values()) == fake.sent_faults["malformed"] > 0
    assert fake.violations == 0


async def test_many_symbols_share_one_connection(seconds: Frames, btc_5m: pd.DataFrame) -> None:
    btc = seconds(150)
    eth = btc.iloc[::2]  # fewer candles, gaps included
    async with FakeBinance({SYMBOL: btc, "ETH/USDT": eth}, "1s", pace_s=0.0005) as fake:
        run = FeedHarness(fake, "1s", symbols=(SYMBOL, "ETH/USDT"))
        for symbol, frame in ((SYMBOL, btc), ("ETH/USDT", eth)):
            first = int(frame.index[0].value // 1_000_000)
            run.processor.restore_last_closed(symbol, SECOND, first - SECOND)
        run.start()
        try:
            await run.until(lambda: len(run.closed) == len(btc) + len(eth))
        finally:
            await run.stop()
    by_symbol = {s: [c for c in run.closed if c.symbol == s] for s in (SYMBOL, "ETH/USDT")}
    assert by_symbol[SYMBOL] == candles(btc, SECOND)
    assert by_symbol["ETH/USDT"] == [c._replace(symbol="ETH/USDT") for c in candles(eth, SECOND)]
    assert fake.connections == 1


async def test_silence_makes_the_feed_stale_then_it_reconnects_and_backfills(
    seconds: Frames,
) -> None:
    frame = seconds(300)
    expected = candles(frame, SECOND)
    async with FakeBinance({SYMBOL: frame}, "1s", pace_s=0.001) as fake:
        run = FeedHarness(fake, "1s", stale_after_s=0.15)
        run.processor.restore_last_closed(SYMBOL, SECOND, expected[0].open_time - SECOND)
        run.start()
        try:
            await run.until(lambda: len(run.closed) >= 20)
            fake.mute()
            await run.until(lambda: any(isinstance(e, FeedRestored) for e in run.status))
            restored_at = len(run.closed)
            await run.until(lambda: len(run.closed) == len(expected))
        finally:
            await run.stop()
    assert run.closed == expected
    stale, restored = run.status[:2]
    assert isinstance(stale, FeedStale) and "no message for 0.15 s" in stale.detail
    assert isinstance(restored, FeedRestored) and restored.time >= stale.time
    assert fake.connections >= 2
    assert restored_at < len(expected)  # it went back to streaming, not just backfilling


async def test_server_shutdown_reconnects_at_once_without_loss_or_staleness(
    seconds: Frames,
) -> None:
    frame = seconds(300)
    expected = candles(frame, SECOND)
    async with FakeBinance({SYMBOL: frame}, "1s", pace_s=0.001) as fake:
        run = FeedHarness(fake, "1s")
        run.processor.restore_last_closed(SYMBOL, SECOND, expected[0].open_time - SECOND)
        run.start()
        try:
            await run.until(lambda: len(run.closed) >= 30)
            await fake.announce_shutdown()
            await run.until(lambda: fake.connections == 2)
            await run.until(lambda: len(run.closed) == len(expected))
        finally:
            await run.stop()
    assert run.closed == expected
    assert run.status == []


async def test_a_failed_backfill_leaves_the_feed_stale_until_the_gap_is_filled(
    seconds: Frames,
) -> None:
    frame = seconds(300)
    expected = candles(frame, SECOND)
    async with FakeBinance({SYMBOL: frame}, "1s", pace_s=0.001) as fake:
        # reconnecting takes 25-50 ms: candles close meanwhile, so the backfill needs REST
        run = FeedHarness(fake, "1s", reconnect_min_s=0.05, reconnect_max_s=0.05)
        run.processor.restore_last_closed(SYMBOL, SECOND, expected[0].open_time - SECOND)
        run.start()
        try:
            await run.until(lambda: len(run.closed) >= 30)
            # both backfills fail, before and after reconnecting, each after all its attempts
            fake.fail_rest(503, times=2 * run.settings.rest_attempts, path="/api/v3/klines")
            fake.drop_connections()
            await run.until(lambda: len(run.closed) == len(expected))
        finally:
            await run.stop()
    assert run.closed == expected
    lost, backfill = run.stale_details()[:2]
    assert "stream lost" in lost and "backfill from REST failed" in backfill
    assert isinstance(run.status[2], FeedRestored)


async def test_connections_are_renewed_before_they_grow_too_old(seconds: Frames) -> None:
    frame = seconds(300)
    expected = candles(frame, SECOND)
    async with FakeBinance({SYMBOL: frame}, "1s", pace_s=0.001) as fake:
        run = FeedHarness(fake, "1s", connection_max_age_s=0.1)
        run.processor.restore_last_closed(SYMBOL, SECOND, expected[0].open_time - SECOND)
        run.start()
        try:
            await run.until(lambda: len(run.closed) == len(expected))
        finally:
            await run.stop()
    assert run.closed == expected
    assert fake.connections >= 3
    assert run.status == []


async def test_without_a_stream_it_polls_rest_at_each_close_then_streams_again(
    seconds: Frames,
) -> None:
    frame = seconds(400)
    expected = candles(frame, SECOND)
    # Paced so that, even on a loaded machine, the stream is back well before the market ends.
    async with FakeBinance({SYMBOL: frame}, "1s", pace_s=0.004) as fake:
        fake.refuse_streams(10**6)
        fake.start_market()
        run = FeedHarness(
            fake, "1s", failures_before_polling=2, reconnect_min_s=0.05, reconnect_max_s=0.05
        )
        run.processor.restore_last_closed(SYMBOL, SECOND, expected[0].open_time - SECOND)
        run.start()
        try:
            await run.until(lambda: len(run.closed) > 0)
            assert fake.connections == 0 and fake.refused >= 2 and run.partials == 0
            assert "polling REST at each candle close" in run.stale_details()[-1]
            fake.refuse_streams(0)
            await run.until(lambda: len(run.closed) == len(expected))
        finally:
            await run.stop()
    assert run.closed == expected
    assert isinstance(run.status[-1], FeedRestored)
    assert fake.connections == 1 and run.partials > 0  # streaming again


async def test_a_fresh_start_warms_up_with_recent_closed_candles(seconds: Frames) -> None:
    frame = seconds(400)
    expected = candles(frame, SECOND)
    live_from = expected[300].open_time
    async with FakeBinance({SYMBOL: frame}, "1s", pace_s=0.0005, live_from_ms=live_from) as fake:
        run = FeedHarness(fake, "1s", warmup=50)
        run.start()
        try:
            await run.until(lambda: len(run.closed) == 150)
        finally:
            await run.stop()
    assert run.closed == expected[250:]


@pytest.mark.parametrize("interval", ["1M", "2m"])
def test_intervals_binance_lacks_or_that_have_no_fixed_length_are_refused(interval: str) -> None:
    with pytest.raises(ValueError, match="use one of 1s, 1m"):
        interval_ms(interval)


async def test_the_specifications_websocket_manager_streams_every_closed_candle(
    seconds: Frames,
) -> None:
    frame = seconds(300)
    expected = candles(frame, SECOND)
    async with FakeBinance({SYMBOL: frame}, "1s", faults=StreamFaults(drop_after=40)) as fake:
        settings = load_settings(None, {}).model_copy(update={"binance": fake.settings(**FAST)})
        hub = EventHub()
        processor = DataProcessor(hub)
        processor.restore_last_closed(SYMBOL, SECOND, expected[0].open_time - SECOND)
        closed: list[Candle] = []
        done = asyncio.Event()

        def note(event: CandleDataProcessed) -> None:
            closed.append(event.candle)
            if len(closed) == len(expected):
                done.set()

        hub.subscribe(CandleDataProcessed, note)
        reconnection = ReconnectionConfig(min_delay_s=0.001, max_delay_s=0.01)
        manager = create_binance_websocket_manager(
            settings, hub, SYMBOL, reconnection, timeframe="1s", clock=fake.clock
        )
        assert manager.feed.symbols == (SYMBOL,)
        task = asyncio.create_task(manager.run())
        try:
            async with asyncio.timeout(30):
                await done.wait()
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            await manager.close()
    assert closed == expected
    assert fake.connections > 3  # it reconnected, and lost nothing


async def test_book_tickers_and_trades_come_as_quotes_and_ticks_beside_the_klines(
    seconds: Frames,
) -> None:
    frame = seconds(20)
    expected = candles(frame, SECOND)
    async with FakeBinance({SYMBOL: frame}, "1s", pace_s=0.001) as fake:
        run = FeedHarness(fake, "1s", extra_streams=("bookTicker", "aggTrade"))
        quotes: list[Quote] = []
        ticks: list[Tick] = []
        run.hub.subscribe(QuoteUpdated, lambda e: quotes.append(e.quote))
        run.hub.subscribe(
            MarketDataReceived,
            lambda e: ticks.append(e.data) if isinstance(e.data, Tick) else None,
        )
        run.processor.restore_last_closed(SYMBOL, SECOND, expected[0].open_time - SECOND)
        run.start()
        try:
            await run.until(lambda: len(run.closed) == len(expected))
        finally:
            await run.stop()
    assert run.closed == expected  # the klines are untouched by the other streams
    updates = len(expected) * fake.updates_per_candle
    assert len(ticks) == len(quotes) == updates
    assert [t.price for t in ticks[3::4]] == [c.close for c in expected]
    assert all(
        q.symbol == SYMBOL and q.bid < t.price < q.ask for q, t in zip(quotes, ticks, strict=True)
    )
