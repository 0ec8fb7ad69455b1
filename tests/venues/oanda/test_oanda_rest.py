"""The OANDA REST client and settings against the fake: instruments, candles, paging, errors."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
from pydantic import ValidationError

from tests.venues.oanda.conftest import SYMBOL, candles
from trading_bot.core.settings import InstrumentSettings
from trading_bot.testing.fake_oanda import TOKEN, FakeOanda
from trading_bot.venues.errors import AuthError, InvalidRequest, RateLimited, TemporaryError
from trading_bot.venues.oanda import OandaMarket, OandaRest, OandaSettings
from trading_bot.venues.oanda.instruments import granularity, our_symbol, to_instrument, venue_name
from trading_bot.venues.oanda.schemas import AccountInstrument, ms_rfc3339, rfc3339_ms

Frames = Callable[[int], pd.DataFrame]


class NoSleep:
    """An `asyncio.sleep` for the REST client that records the waits instead of waiting."""

    def __init__(self) -> None:
        self.slept: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.slept.append(seconds)


def history_fake(frame: pd.DataFrame) -> FakeOanda:
    """A fake whose every candle is history: complete, nothing streams."""
    return FakeOanda({SYMBOL: frame}, live_from_ms=candles(frame)[-1].close_time)


# -- settings and names --------------------------------------------------------------------------


def test_settings_default_to_practice_and_keep_the_token_secret(tmp_path: Path) -> None:
    practice = OandaSettings(token="s3cret")  # type: ignore[arg-type]
    assert practice.rest_url == "https://api-fxpractice.oanda.com"
    assert practice.stream_url == "https://stream-fxpractice.oanda.com"
    live = OandaSettings(environment="live")
    assert (live.rest_url, live.stream_url) == (
        "https://api-fxtrade.oanda.com",
        "https://stream-fxtrade.oanda.com",
    )
    assert "s3cret" not in repr(practice) and "s3cret" not in str(practice.model_dump())
    local = OandaSettings(rest_url="http://127.0.0.1:9000/")
    assert local.rest_url == "http://127.0.0.1:9000"
    secret = tmp_path / "token"
    secret.write_text("from-a-file\n")
    from_file = OandaSettings.model_validate({"token_file": str(secret)})
    assert from_file.token is not None and from_file.token.get_secret_value() == "from-a-file"


@pytest.mark.parametrize(
    ("values", "key"),
    [
        ({"timeframe": "3m"}, "timeframe"),
        ({"symbol": "EUR_USD"}, "symbol"),
        ({"environment": "demo"}, "environment"),
        ({"price": "last"}, "price"),
        ({"rest_url": "ftp://x"}, "rest_url"),
        ({"acount_id": "typo"}, "acount_id"),
    ],
)
def test_settings_refuse_what_oanda_cannot_do(values: dict[str, str], key: str) -> None:
    with pytest.raises(ValidationError, match=key):
        OandaSettings.model_validate(values)


def test_timeframes_map_to_oanda_granularities_in_one_place() -> None:
    assert [granularity(t) for t in ("5s", "30s", "1m", "15m", "1h", "4h", "1d")] == [
        *("S5", "S30", "M1", "M15", "H1", "H4", "D")
    ]
    with pytest.raises(ValueError, match="OANDA has no candles of '1w'; use one of 5s, 10s"):
        granularity("1w")
    assert venue_name("EUR/USD") == "EUR_USD" and our_symbol("EUR_USD") == "EUR/USD"
    with pytest.raises(ValueError, match="BASE/QUOTE"):
        venue_name("EURUSD")


def test_account_instruments_become_instrument_rules() -> None:
    eur_usd = AccountInstrument(
        name="EUR_USD",
        type="CURRENCY",
        display_precision=5,
        trade_units_precision=0,
        minimum_trade_size=Decimal(1),
    )
    rules = to_instrument(eur_usd)
    assert (rules.symbol, rules.tick_size, rules.lot_step, rules.min_qty) == (
        "EUR/USD",
        Decimal("0.00001"),
        Decimal(1),
        Decimal(1),
    )
    cfd = AccountInstrument(
        name="DE30_EUR",
        type="CFD",
        display_precision=1,
        trade_units_precision=1,
        minimum_trade_size=Decimal("0.1"),
    )
    rules = to_instrument(cfd)
    assert (rules.symbol, rules.tick_size, rules.lot_step, rules.min_qty) == (
        "DE30/EUR",
        Decimal("0.1"),
        Decimal("0.1"),
        Decimal("0.1"),
    )
    assert rules.round_price(Decimal("15321.37")) == Decimal("15321.4")


def test_rfc3339_times_are_truncated_to_the_millisecond() -> None:
    assert rfc3339_ms("2016-06-22T18:41:29.264030555Z") == 1466620889264
    # rounding would move this price into the next candle
    assert rfc3339_ms("2016-06-22T18:41:29.999999999Z") == 1466620889999
    assert rfc3339_ms("2016-06-22T18:41:30Z") == 1466620890000
    assert rfc3339_ms("2016-06-22T18:41:30.2Z") == 1466620890200
    assert rfc3339_ms("2016-06-22T20:41:30.2+02:00") == 1466620890200
    for ms in (0, 1466620889264, 4_102_444_799_999):
        assert rfc3339_ms(ms_rfc3339(ms)) == ms


# -- the client against the fake -----------------------------------------------------------------


async def test_the_market_prepares_its_instrument_from_the_account(fives: Frames) -> None:
    async with history_fake(fives(10)) as fake:
        market = OandaMarket(fake.settings(timeframe="5s"))
        try:
            instrument = await market.prepare(InstrumentSettings())
        finally:
            await market.close()
    # the fake's EUR/USD mid prices have six decimals (halves of 5-decimal quotes)
    assert instrument.tick_size == Decimal("0.000001") and instrument.lot_step == Decimal(1)
    assert fake.requests[0].path == f"/v3/accounts/{fake.account_id}/instruments"
    assert fake.requests[0].params == {"instruments": "EUR_USD"}


async def test_candles_are_paged_5000_at_a_time_and_only_complete_ones_kept(
    fives: Frames,
) -> None:
    frame = fives(12_000)
    expected = candles(frame)
    async with history_fake(frame) as fake, OandaRest(fake.settings(timeframe="5s")) as rest:
        got = [
            c async for page in rest.iter_candles(SYMBOL, "5s", expected[0].open_time) for c in page
        ]
        window = [
            c
            async for page in rest.iter_candles(
                SYMBOL, "5s", expected[10].open_time, expected[20].open_time
            )
            for c in page
        ]
    assert got == expected  # weekend gaps and all
    assert window == expected[10:21]
    pages = [r for r in fake.requests if r.path.endswith("/candles")]
    assert len(pages) == 4  # 12,000 candles: three pages, then a look past the last one
    assert all(p.params["count"] == "5000" for p in pages)
    assert pages[0].params["includeFirst"] == "true" and pages[1].params["includeFirst"] == "false"
    assert pages[0].params["granularity"] == "S5" and pages[0].params["price"] == "M"
    assert (
        pages[0].params["dailyAlignment"] == "0" and pages[0].params["alignmentTimezone"] == "UTC"
    )


async def test_bid_and_ask_candles_straddle_the_mid(fives: Frames) -> None:
    frame = fives(50)
    mid = candles(frame)
    async with history_fake(frame) as fake:
        got = {}
        for price in ("bid", "ask"):
            async with OandaRest(fake.settings(timeframe="5s", price=price)) as rest:
                got[price] = [c async for p in rest.iter_candles(SYMBOL, "5s", 0) for c in p]
    for bid, ask, m in zip(got["bid"], got["ask"], mid, strict=True):
        assert bid.close < m.close < ask.close
        assert ask.close - m.close == pytest.approx(m.close - bid.close)


async def test_history_ends_with_the_candle_asked_for(fives: Frames) -> None:
    frame = fives(300)
    expected = candles(frame)
    async with history_fake(frame) as fake, OandaRest(fake.settings(timeframe="5s")) as rest:
        latest = await rest.history(SYMBOL, "5s", 10)
        before = await rest.history(SYMBOL, "5s", 50, until_open=expected[200].open_time)
    assert latest == expected[-10:]
    assert before == expected[151:201]


async def test_a_wrong_token_is_an_auth_error_that_never_shows_the_token(fives: Frames) -> None:
    async with (
        history_fake(fives(10)) as fake,
        OandaRest(fake.settings(token="wrong-token")) as rest,
    ):
        with pytest.raises(AuthError) as caught:
            await rest.instrument(SYMBOL)
    assert "HTTP 401" in str(caught.value) and "Insufficient authorization" in str(caught.value)
    assert "wrong-token" not in str(caught.value) and TOKEN not in str(caught.value)
    assert len(fake.requests) == 1  # never retried


async def test_429_waits_for_retry_after_then_succeeds(fives: Frames) -> None:
    sleep = NoSleep()
    async with history_fake(fives(10)) as fake:
        fake.fail_rest(429, retry_after=3)
        async with OandaRest(fake.settings(), sleep=sleep) as rest:
            instrument = await rest.instrument(SYMBOL)
            fake.fail_rest(429, times=3)
            with pytest.raises(RateLimited, match="HTTP 429 \\(Rate limit violation\\)") as caught:
                await rest.instrument(SYMBOL)
    assert instrument.symbol == SYMBOL
    assert sleep.slept == [3.0, 1.0, 1.0]  # OANDA's Retry-After, else a second
    assert caught.value.retry_after == 1.0


async def test_server_errors_are_retried_with_backoff_then_temporary(fives: Frames) -> None:
    sleep = NoSleep()
    async with (
        history_fake(fives(10)) as fake,
        OandaRest(fake.settings(rest_retry_s=0.5), sleep=sleep) as rest,
    ):
        fake.fail_rest(503, times=2)
        assert (await rest.instrument(SYMBOL)).symbol == SYMBOL
        fake.fail_rest(500, times=3)
        with pytest.raises(TemporaryError, match="HTTP 500"):
            await rest.instrument(SYMBOL)
    assert sleep.slept == [0.5, 1.0, 0.5, 1.0]


async def test_refusals_are_invalid_requests_with_oandas_words(fives: Frames) -> None:
    async with history_fake(fives(10)) as fake:
        async with OandaRest(fake.settings(account_id="001-999")) as rest:
            with pytest.raises(InvalidRequest, match="INVALID_ACCOUNT_ID: Invalid value"):
                await rest.instrument(SYMBOL)
        async with OandaRest(fake.settings()) as rest:
            with pytest.raises(
                InvalidRequest, match=r"HTTP 400 \(Invalid value specified for 'instruments'\)"
            ):
                await rest.instrument("GBP/USD")
        async with OandaRest(fake.settings(account_id="")) as rest:
            with pytest.raises(InvalidRequest, match=r"oanda\.account_id is not set"):
                await rest.instrument(SYMBOL)
