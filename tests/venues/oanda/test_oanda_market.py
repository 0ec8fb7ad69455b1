"""`OandaMarket` as the app sees it (the `Market` protocol): rules, warm-up history, and what
`record-data` writes from its feed while the stream is cut again and again."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from tests.venues.oanda.conftest import FAST, SYMBOL, candles
from trading_bot.core.settings import InstrumentSettings
from trading_bot.data.files import load_candles
from trading_bot.testing.fake_oanda import FakeOanda, StreamFaults
from trading_bot.venues.market import Market
from trading_bot.venues.oanda import OandaMarket
from trading_bot.venues.record import record_candles

Frames = Callable[[int], pd.DataFrame]


async def test_recording_through_the_market_writes_exactly_the_venues_candles(
    fives: Frames, tmp_path: Path
) -> None:
    frame = fives(300)
    expected = candles(frame)
    out = tmp_path / "eurusd.csv"
    faults = StreamFaults(cut_after=60, malformed_every=50)
    async with FakeOanda({SYMBOL: frame}, pace_s=0.0005, heartbeat_s=0.02, faults=faults) as fake:
        market: Market = OandaMarket(fake.settings(**FAST))
        try:
            written = await record_candles(
                market, out, asyncio.Event(), duration_s=30, until_ms=expected[-1].open_time
            )
        finally:
            await market.close()
    assert written == len(expected) and fake.sent_faults["cut"] > 10
    recorded = load_candles(out)
    expected_frame = frame[["open", "high", "low", "close"]].assign(volume=4.0)
    pd.testing.assert_frame_equal(recorded, expected_frame, check_freq=False)


async def test_the_market_gives_rules_and_warm_up_history(fives: Frames) -> None:
    frame = fives(200)
    expected = candles(frame)
    async with FakeOanda({SYMBOL: frame}, live_from_ms=expected[-1].close_time) as fake:
        market = OandaMarket(fake.settings(**FAST))
        try:
            instrument = await market.prepare(InstrumentSettings())
            latest = await market.history(None, 30)
            resumed = await market.history(expected[99].open_time, 30)
        finally:
            await market.close()
    assert instrument.symbol == SYMBOL and market.timeframe_ms == 5_000
    assert latest == expected[-30:] and resumed == expected[70:100]
    assert market.describe().startswith("OANDA practice mid prices, account 101-")
