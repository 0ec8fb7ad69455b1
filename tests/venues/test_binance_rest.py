"""The REST client against the fake: rules, klines pages, server time and Binance's limits."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal

import msgspec
import pandas as pd
import pytest
from pydantic import ValidationError

from tests.venues.conftest import FAST, SYMBOL, SimSleep, candles
from trading_bot.core.model import Candle, Instrument
from trading_bot.testing.fake_binance import FakeBinance
from trading_bot.venues.binance import BinanceRest, BinanceSettings, Markets
from trading_bot.venues.binance.config import PRODUCTION, TESTNET
from trading_bot.venues.binance.schemas import ExchangeInfo, RestKline
from trading_bot.venues.errors import InvalidRequest, RateLimited, TemporaryError

FIVE_MINUTES = 300_000
KLINES = "/api/v3/klines"


@pytest.fixture
async def history(btc_5m: pd.DataFrame) -> AsyncIterator[FakeBinance]:
    """A fake whose 2,500 candles are all history: REST serves them, nothing streams."""
    frame = btc_5m.iloc[:2500]
    after = int(frame.index[-1].value // 1_000_000) + FIVE_MINUTES
    async with FakeBinance({SYMBOL: frame}, "5m", live_from_ms=after) as fake:
        yield fake


def client(fake: FakeBinance, **settings: object) -> tuple[BinanceRest, SimSleep]:
    sleep = SimSleep(fake.clock)
    return BinanceRest(fake.settings(**{**FAST, **settings}), fake.clock, sleep=sleep), sleep


def as_candles(pages: list[list[RestKline]]) -> list[Candle]:
    return [
        Candle(SYMBOL, FIVE_MINUTES, k.open_time, k.open, k.high, k.low, k.close, k.volume)
        for page in pages
        for k in page
    ]


# -- settings ----------------------------------------------------------------------------------


def test_settings_default_to_production_and_testnet_switches_every_url() -> None:
    assert BinanceSettings().rest_url == PRODUCTION.rest_url
    testnet = BinanceSettings(testnet=True)
    assert (testnet.rest_url, testnet.ws_url, testnet.ws_api_url) == TESTNET
    custom = BinanceSettings(testnet=True, rest_url="http://127.0.0.1:9/")
    assert custom.rest_url == "http://127.0.0.1:9" and custom.ws_url == TESTNET.ws_url


@pytest.mark.parametrize(
    "values",
    [{"ws_url": "https://stream.binance.com"}, {"stale_after": 5}, {"connects_per_5m": 301}],
)
def test_settings_reject_wrong_schemes_unknown_keys_and_limits_past_binance(
    values: dict[str, object],
) -> None:
    with pytest.raises(ValidationError):
        BinanceSettings.model_validate(values)


# -- exchange rules ----------------------------------------------------------------------------


async def test_exchange_info_becomes_instruments_named_by_base_and_quote(
    history: FakeBinance,
) -> None:
    async with client(history)[0] as rest:
        markets = await rest.markets()
    assert markets.venue_symbol(SYMBOL) == "BTCUSDT"
    assert markets.symbol("BTCUSDT") == SYMBOL
    assert markets.symbol("ETHUSDT") is None
    assert markets.instrument(SYMBOL) == Instrument(
        SYMBOL, Decimal("0.01"), Decimal("0.00001"), Decimal("0.00001"), Decimal("5"), spot=True
    )  # a spot market: buys are paid in full
    with pytest.raises(ValueError, match="base asset 'BTC' and quote asset 'USDX'"):
        markets.venue_symbol("BTC/USDX")


def test_legacy_min_notional_filter_and_whole_number_steps() -> None:
    payload = b"""{"timezone": "UTC", "serverTime": 1, "rateLimits": [], "exchangeFilters": [],
      "symbols": [{"symbol": "SHIBEUR", "status": "BREAK", "baseAsset": "SHIB", "quoteAsset": "EUR",
        "filters": [
          {"filterType": "PRICE_FILTER", "minPrice": "0.00000001", "maxPrice": "1.00000000",
           "tickSize": "0.00000001"},
          {"filterType": "LOT_SIZE", "minQty": "10.00000000", "maxQty": "9e10",
           "stepSize": "1.00000000"},
          {"filterType": "MIN_NOTIONAL", "minNotional": "10.00000000", "applyToMarket": true,
           "avgPriceMins": 5}]}]}"""
    markets = Markets.from_exchange_info(msgspec.json.decode(payload, type=ExchangeInfo))
    instrument = markets.instrument("SHIB/EUR")
    assert instrument == Instrument(
        "SHIB/EUR", Decimal("0.00000001"), Decimal(1), Decimal(10), Decimal(10), spot=True
    )
    assert str(instrument.lot_step) == "1" and str(instrument.min_qty) == "10"
    assert markets.market("SHIB/EUR").status == "BREAK"


# -- klines ------------------------------------------------------------------------------------


async def test_klines_come_in_pages_of_1000_and_join_into_the_series(
    history: FakeBinance, btc_5m: pd.DataFrame
) -> None:
    expected = candles(btc_5m.iloc[:2500], FIVE_MINUTES)
    async with client(history)[0] as rest:
        pages = [
            page
            async for page in rest.iter_klines(
                "BTCUSDT", "5m", expected[0].open_time, expected[-1].open_time
            )
        ]
    assert [len(p) for p in pages] == [1000, 1000, 500]
    assert as_candles(pages) == expected
    starts = [int(r.params["startTime"]) for r in history.requests if r.path == KLINES]
    assert starts == [
        expected[0].open_time,
        expected[999].open_time + 1,
        expected[1999].open_time + 1,
    ]


async def test_fake_klines_follow_binance_start_end_and_limit_semantics(
    history: FakeBinance, btc_5m: pd.DataFrame
) -> None:
    expected = candles(btc_5m.iloc[:2500], FIVE_MINUTES)
    async with client(history)[0] as rest:
        latest = await rest.klines("BTCUSDT", "5m", limit=3)
        before = await rest.klines("BTCUSDT", "5m", end_ms=expected[10].open_time, limit=2)
        window = await rest.klines(
            "BTCUSDT", "5m", expected[5].open_time - 1, expected[7].open_time
        )
        with pytest.raises(InvalidRequest) as bad_limit:
            await rest.klines("BTCUSDT", "5m", limit=1001)
        with pytest.raises(InvalidRequest) as bad_symbol:
            await rest.klines("BTCUSDX", "5m")
    assert [k.open_time for k in latest] == [c.open_time for c in expected[-3:]]
    assert [k.open_time for k in before] == [c.open_time for c in expected[9:11]]
    assert [k.open_time for k in window] == [c.open_time for c in expected[5:8]]
    assert (bad_limit.value.code, bad_symbol.value.code) == (-1130, -1121)


# -- time --------------------------------------------------------------------------------------


async def test_server_time_measures_the_offset_of_a_skewed_clock(history: FakeBinance) -> None:
    history.clock_skew_ms = 2500
    async with client(history)[0] as rest:
        server = await rest.server_time()
    assert server == history.clock.now_ms() + 2500
    assert rest.time_offset_ms == 2500
    assert rest.server_now_ms() == server


# -- limits and failures -----------------------------------------------------------------------


async def test_a_429_is_obeyed_for_its_retry_after_on_the_injected_clock(
    history: FakeBinance,
) -> None:
    history.fail_rest(429, retry_after=3, path=KLINES)
    rest, sleep = client(history)
    async with rest:
        page = await rest.klines("BTCUSDT", "5m", limit=5)
    assert len(page) == 5
    first, second = (r for r in history.requests if r.path == KLINES)
    assert (first.status, second.status) == (429, 200)
    assert second.time_ms - first.time_ms >= 3000
    assert sleep.slept == [3.0]
    assert (history.violations, history.bans) == (0, 0)


async def test_requests_slow_down_before_the_weight_limit_instead_of_meeting_it(
    history: FakeBinance,
) -> None:
    history.weight_limit = 60  # announced in exchangeInfo; 80 % of it is 48
    rest, _ = client(history)
    async with rest:
        await rest.exchange_info()  # weight 20
        for _ in range(20):  # weight 2 each: the 15th would pass 48
            await rest.klines("BTCUSDT", "5m", limit=1)
    assert rest.pacer.limit == 60 and rest.pacer.pauses == 1
    times = [r.time_ms for r in history.requests]
    assert times[15] // 60_000 == times[14] // 60_000 + 1  # waited for the next minute
    assert {r.status for r in history.requests} == {200}
    assert history.rate_limited == 0


async def test_an_ip_ban_is_not_retried_and_nothing_is_sent_while_it_lasts(
    history: FakeBinance,
) -> None:
    history.fail_rest(418, retry_after=600)
    rest, sleep = client(history)
    async with rest:
        with pytest.raises(RateLimited) as banned:
            await rest.klines("BTCUSDT", "5m", limit=1)
        with pytest.raises(RateLimited) as still:
            await rest.server_time()
    assert banned.value.banned and banned.value.retry_after == 600
    assert not still.value.banned and 590 < still.value.retry_after <= 600
    assert len(history.requests) == 1 and sleep.slept == []


async def test_server_errors_are_retried_with_growing_waits_then_raised(
    history: FakeBinance,
) -> None:
    history.fail_rest(503, times=2, path=KLINES)
    rest, sleep = client(history, rest_attempts=3, rest_retry_s=0.5)
    async with rest:
        assert len(await rest.klines("BTCUSDT", "5m", limit=2)) == 2
        history.fail_rest(500, times=3, path=KLINES)
        with pytest.raises(TemporaryError, match="HTTP 500"):
            await rest.klines("BTCUSDT", "5m", limit=2)
    assert sleep.slept == [0.5, 1.0, 0.5, 1.0]


async def test_a_slow_answer_is_a_temporary_error(history: FakeBinance) -> None:
    history.rest_delay_s = 0.3
    async with client(history, request_timeout_s=0.05, rest_attempts=1)[0] as rest:
        with pytest.raises(TemporaryError, match="TimeoutError"):
            await rest.server_time()
