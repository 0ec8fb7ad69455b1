"""The stream layer: frame parsing, backoff, the connection budget, and pongs to Binance's pings."""

from __future__ import annotations

import random

import aiohttp
import pandas as pd

from tests.venues.conftest import FAST, SYMBOL
from trading_bot.testing.fake_binance import FakeBinance
from trading_bot.venues.backoff import Backoff
from trading_bot.venues.binance.schemas import ServerShutdown, StreamKline
from trading_bot.venues.binance.stream import (
    ConnectBudget,
    EndReason,
    FrameParser,
    KlineStream,
    kline_stream,
)

KLINE = (
    '{"stream":"bnbbtc@kline_1m","data":{"e":"kline","E":1672515782136,"s":"BNBBTC","k":{'
    '"t":1672515780000,"T":1672515839999,"s":"BNBBTC","i":"1m","f":100,"L":200,"o":"0.0010",'
    '"c":"0.0020","h":"0.0025","l":"0.0015","v":"1000","n":100,"x":false,"q":"1.0000",'
    '"V":"500","Q":"0.500","B":"123456"}}}'
)


def test_documented_kline_payload_parses_into_typed_fields() -> None:
    kline = FrameParser().parse(KLINE)
    assert kline == StreamKline(
        1672515780000, "BNBBTC", "1m", 0.001, 0.002, 0.0025, 0.0015, 1000.0, False
    )


def test_server_shutdown_is_recognised() -> None:
    frame = '{"stream":"!serverShutdown","data":{"e":"serverShutdown","E":1770123456789}}'
    assert FrameParser().parse(frame) == ServerShutdown(1770123456789)


def test_malformed_frames_are_dropped_and_counted_by_reason() -> None:
    parser = FrameParser()
    frames = [
        KLINE[:80],
        "not json",
        KLINE.replace('"o":"0.0010"', '"o":"abc"'),
        KLINE.replace('"x":false,', ""),
        '{"stream":"bnbbtc@kline_1m","data":{"e":"mystery","E":1}}',
        '{"result":null,"id":1}',
    ]
    assert [parser.parse(f) for f in frames] == [None] * len(frames)
    assert parser.dropped == {"invalid_json": 2, "unexpected_shape": 4}


def test_backoff_grows_exponentially_with_jitter_up_to_its_ceiling() -> None:
    backoff = Backoff(0.5, 30.0, random.Random(7))
    delays = [backoff.next() for _ in range(12)]
    for attempt, delay in enumerate(delays):
        ceiling = min(30.0, 0.5 * 2**attempt)
        assert ceiling / 2 <= delay < ceiling
    assert len(set(delays)) == len(delays)  # jittered
    backoff.reset()
    assert backoff.next() < 0.5


async def test_connection_budget_holds_attempts_past_the_limit_until_the_window_frees() -> None:
    now = [0.0]
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)
        now[0] += seconds

    budget = ConnectBudget(3, 300.0, now=lambda: now[0], sleep=sleep)
    for t in (0.0, 1.0, 2.0, 2.5, 400.0):
        now[0] = max(now[0], t)
        await budget.acquire()
    assert waits == [297.5]  # the 4th attempt waited for the 1st to leave the window


async def test_pings_are_answered_with_their_payload(btc_5m: pd.DataFrame) -> None:
    fake = FakeBinance({SYMBOL: btc_5m.iloc[:400]}, "5m", ping_interval_s=0.01, pace_s=0.002)
    async with fake, aiohttp.ClientSession() as session:
        stream = KlineStream(session, fake.settings(**FAST), [kline_stream("BTCUSDT", "5m")])
        connection = await stream.connect()
        async for _ in connection:
            if fake.pongs >= 3:
                break
        await connection.close()
    assert fake.pongs >= 3


async def test_a_connection_ends_as_aged_before_its_time_limit(btc_5m: pd.DataFrame) -> None:
    fake = FakeBinance({SYMBOL: btc_5m.iloc[:2000]}, "5m", pace_s=0.001)
    async with fake, aiohttp.ClientSession() as session:
        settings = fake.settings(**{**FAST, "connection_max_age_s": 0.05})
        stream = KlineStream(session, settings, [kline_stream("BTCUSDT", "5m")])
        connection = await stream.connect()
        klines = [k async for k in connection]
        await connection.close()
    assert connection.end is EndReason.AGED and connection.end.planned
    assert klines and connection.messages == len(klines)
