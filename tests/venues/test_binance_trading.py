"""Signed trading REST against the fake: signing, formatting, every order type, refusals,
clock resync, exactly-once placement and cancels under lost answers, and the API key check."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal

import pandas as pd
import pytest
from aiohttp import web
from hypothesis import given
from hypothesis import strategies as st

from tests.venues.conftest import FAST, SYMBOL, SimSleep
from tests.venues.trading_harness import fake_venue
from trading_bot.core.clock import SimulatedClock
from trading_bot.core.model import Instrument, Side
from trading_bot.testing.fake_binance_trading import FakeBinanceTrading, TradingFaults
from trading_bot.venues.binance import BinanceSettings, Market, Markets
from trading_bot.venues.binance.rest import ApiCredentials, BinanceRest, binance_message
from trading_bot.venues.binance.safety import UnsafeApiKey, check_api_key
from trading_bot.venues.binance.trading import (
    BinanceTrading,
    OcoSpec,
    OrderSpec,
    VenueOrderType,
    check_client_order_id,
    plain,
    price_text,
    quantity_text,
)
from trading_bot.venues.errors import AuthError, InvalidOrder, TemporaryError

BUY, SELL = Side.BUY, Side.SELL
MARKET, LIMIT = VenueOrderType.MARKET, VenueOrderType.LIMIT
STOP_LIMIT = VenueOrderType.STOP_LOSS_LIMIT
BTC = Instrument(SYMBOL, Decimal("0.01"), Decimal("0.00001"), Decimal("0.00001"), Decimal(5))
OPEN = Decimal("19695.87")  # the first candle's open: the fake's price before it moves

# The example key pair of Binance's "SIGNED endpoint examples" (not a real account's).
DOC_KEY = "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A"
DOC_SECRET = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"
DOC_QUERY = (
    "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1"
    "&recvWindow=5000&timestamp=1499827319559"
)
DOC_SIGNATURE = "c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71"


@pytest.fixture
async def venue(btc_5m: pd.DataFrame) -> AsyncIterator[FakeBinanceTrading]:
    async with fake_venue(btc_5m.iloc[:200]) as venue:
        yield venue


@pytest.fixture
async def trading(venue: FakeBinanceTrading) -> AsyncIterator[BinanceTrading]:
    async with client(venue) as trading:
        yield trading


class client:  # used as `async with client(venue) as trading`
    """A BinanceTrading on the fake, its sleeps simulated on the fake's clock."""

    def __init__(self, venue: FakeBinanceTrading, **settings: object) -> None:
        fake = venue.fake
        self.sleep = SimSleep(fake.clock)
        credentials = settings.pop("credentials", venue.credentials)
        assert isinstance(credentials, ApiCredentials)
        self.rest = BinanceRest(
            fake.settings(**{**FAST, **settings}),
            fake.clock,
            sleep=self.sleep,
            credentials=credentials,
        )

    async def __aenter__(self) -> BinanceTrading:
        markets = await self.rest.markets()
        return BinanceTrading(self.rest, markets, sleep=self.sleep)

    async def __aexit__(self, *exc_info: object) -> None:
        await self.rest.close()


# -- signing and formatting --------------------------------------------------------------------


async def test_a_real_order_request_is_signed_as_binance_documents() -> None:
    """The order of Binance's signing example, built and sent by our client, carries exactly
    the documented query and signature, and the key in its header."""
    seen: list[tuple[str, str, str, str | None]] = []

    async def order(request: web.Request) -> web.Response:
        query = request.rel_url.raw_query_string
        seen.append((request.method, request.path, query, request.headers.get("X-MBX-APIKEY")))
        return web.json_response({"symbol": "LTCBTC", "orderId": 1, "clientOrderId": "x"})

    app = web.Application()
    app.router.add_post("/api/v3/order", order)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    port = runner.addresses[0][1]
    ltc = Instrument("LTC/BTC", tick_size=Decimal("0.000001"), lot_step=Decimal("0.001"))
    markets = Markets([Market("LTC/BTC", "LTCBTC", "TRADING", ltc)])
    settings = BinanceSettings(rest_url=f"http://127.0.0.1:{port}", recv_window_ms=5000)
    clock = SimulatedClock(1499827319559)
    try:
        async with BinanceRest(
            settings, clock, credentials=ApiCredentials(DOC_KEY, DOC_SECRET)
        ) as rest:
            spec = OrderSpec("LTC/BTC", BUY, LIMIT, Decimal("1.000"), None, Decimal("0.100000"))
            await BinanceTrading(rest, markets).new_order(spec, response_type=None)
    finally:
        await runner.cleanup()
    assert seen == [("POST", "/api/v3/order", f"{DOC_QUERY}&signature={DOC_SIGNATURE}", DOC_KEY)]


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("19695.874", "19695.87"),
        ("19695.875", "19695.88"),  # the nearest tick (half to even)
        ("0.1", "0.1"),
        ("2E+4", "20000"),  # never scientific notation
        ("19700.000", "19700"),
    ],
)
def test_prices_go_on_the_tick_grid_as_plain_decimals(value: str, text: str) -> None:
    assert price_text(BTC, Decimal(value)) == text


def test_quantities_round_down_to_the_lot_and_never_to_zero() -> None:
    assert quantity_text(BTC, Decimal("0.123456789")) == "0.12345"
    assert quantity_text(BTC, Decimal("1E+1")) == "10"
    with pytest.raises(ValueError, match="rounds to zero"):
        quantity_text(BTC, Decimal("0.000009"))


@given(
    st.decimals(min_value="0.00000001", max_value="100000000", allow_nan=False, places=10),
    st.sampled_from(["0.00000001", "0.00001", "0.01", "0.5", "1", "10"]),
)
def test_formatted_numbers_are_plain_and_on_the_grid(value: Decimal, step: str) -> None:
    tick = Decimal(step)
    instrument = Instrument(SYMBOL, tick_size=tick, lot_step=tick)
    text = price_text(instrument, value)
    assert text.replace(".", "", 1).isdigit() and "E" not in text.upper()
    assert not ("." in text and text.endswith("0"))
    assert Decimal(text) % tick == 0 and abs(Decimal(text) - value) <= tick / 2
    if value >= tick:
        qty = Decimal(quantity_text(instrument, value))
        assert qty % tick == 0 and value - tick < qty <= value


def test_plain_writes_zero_and_exponents_plainly() -> None:
    assert [plain(Decimal(v)) for v in ("0E-8", "1.50000000", "1E+3")] == ["0", "1.5", "1000"]


def test_client_order_ids_follow_binances_rule() -> None:
    assert check_client_order_id("tb-1.a:b/c_D") == "tb-1.a:b/c_D"
    for bad in ("", "x" * 37, "tb 1", "tb#1"):
        with pytest.raises(ValueError, match="not valid on Binance"):
            check_client_order_id(bad)


# -- every order type --------------------------------------------------------------------------


async def test_every_order_type_round_trips(
    venue: FakeBinanceTrading, trading: BinanceTrading
) -> None:
    market = await trading.place(OrderSpec(SYMBOL, BUY, MARKET, Decimal("0.01"), "m-1"))
    assert (market.status, market.executed_qty, market.type) == ("FILLED", Decimal("0.01"), MARKET)
    assert [(f.price, f.qty) for f in market.fills] == [(OPEN, Decimal("0.01"))]

    limit = await trading.place(
        OrderSpec(SYMBOL, BUY, LIMIT, Decimal("0.02"), "l-1", Decimal("19000"))
    )
    stop = await trading.place(
        OrderSpec(
            SYMBOL, SELL, STOP_LIMIT, Decimal("0.03"), "s-1", Decimal("18990"), Decimal("19000")
        )
    )
    oco = OcoSpec(
        SYMBOL,
        SELL,
        Decimal("0.04"),
        "os-1",
        Decimal("19500"),
        Decimal("19490"),
        "ot-1",
        Decimal("19900"),
    )
    oco_stop, oco_target = await trading.place_oco(oco)

    for placed, kind, price, stop_price in [
        (limit, "LIMIT", "19000", "0"),
        (stop, "STOP_LOSS_LIMIT", "18990", "19000"),
        (oco_stop, "STOP_LOSS_LIMIT", "19490", "19500"),
        (oco_target, "LIMIT_MAKER", "19900", "0"),
    ]:
        queried = await trading.query_order(SYMBOL, placed.client_order_id)
        assert queried is not None
        assert (queried.order_id, queried.status, queried.type) == (placed.order_id, "NEW", kind)
        assert (queried.price, queried.stop_price) == (Decimal(price), Decimal(stop_price))
    assert oco_stop.order_list_id == oco_target.order_list_id >= 0
    sent = {
        r.params["newClientOrderId"]: r.params
        for r in venue.fake.requests
        if r.path.endswith("/order") and "newClientOrderId" in r.params
    }
    assert sent["l-1"]["timeInForce"] == "GTC" and sent["l-1"]["price"] == "19000"
    assert sent["s-1"]["stopPrice"] == "19000" and sent["s-1"]["price"] == "18990"

    open_ids = {o.client_order_id for o in await trading.open_orders(SYMBOL)}
    assert open_ids == {"l-1", "s-1", "os-1", "ot-1"}
    canceled = await trading.cancel(SYMBOL, "l-1")
    assert canceled is not None and (canceled.status, canceled.our_id) == ("CANCELED", "l-1")
    leg = await trading.cancel(SYMBOL, "ot-1")  # one leg cancels the whole OCO
    assert leg is not None and leg.status == "CANCELED"
    assert {o.client_order_id for o in await trading.open_orders(SYMBOL)} == {"s-1"}
    assert await trading.query_order(SYMBOL, "never-sent") is None

    account = await trading.account()
    btc = account.balance("BTC")
    assert btc.locked == Decimal("0.03")  # the stop still holds what it would sell
    assert btc.free == Decimal(100) + Decimal("0.01") - Decimal("0.00001") - Decimal("0.03")
    trades = await trading.my_trades(SYMBOL, order_id=market.order_id)
    assert [(t.qty, t.commission, t.commission_asset) for t in trades] == [
        (Decimal("0.01"), Decimal("0.00001"), "BTC")
    ]


# -- refusals ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (
            OrderSpec(SYMBOL, BUY, MARKET, Decimal(100), "big"),
            "Account has insufficient balance for requested action.",
        ),
        (
            OrderSpec(
                SYMBOL, SELL, STOP_LIMIT, Decimal("0.01"), "st", Decimal(19790), Decimal(19800)
            ),
            "Stop price would trigger immediately.",
        ),
        (OrderSpec(SYMBOL, BUY, MARKET, Decimal("0.0001"), "tiny"), "Filter failure: NOTIONAL"),
    ],
)
async def test_refused_orders_raise_invalid_order_in_binances_words(
    trading: BinanceTrading, spec: OrderSpec, message: str
) -> None:
    with pytest.raises(InvalidOrder) as refused:
        await trading.place(spec)
    assert binance_message(refused.value) == message
    assert refused.value.code in (-2010, -1013)


async def test_wrong_credentials_are_an_auth_error(venue: FakeBinanceTrading) -> None:
    for credentials, code in [
        (ApiCredentials(venue.api_key, "wrong secret"), -1022),
        (ApiCredentials("wrong key", venue.secret), -2015),
    ]:
        async with client(venue, credentials=credentials) as trading:
            with pytest.raises(AuthError) as refused:
                await trading.account()
        assert refused.value.code == code
        assert venue.secret not in str(refused.value) and "wrong" not in str(refused.value)
    assert "secret" not in repr(ApiCredentials("key", "secret")).replace("secret=", "")


async def test_a_stale_timestamp_resyncs_the_clock_and_is_sent_again(
    venue: FakeBinanceTrading,
) -> None:
    venue.fake.clock_skew_ms = 60_000  # Binance's clock is a minute ahead of ours
    async with client(venue) as trading:
        trading.rest.time_offset_ms = 0
        placed = await trading.place(
            OrderSpec(SYMBOL, BUY, LIMIT, Decimal("0.01"), "late", Decimal(19000))
        )
    assert placed.status == "NEW" and len(venue.orders_with_id("late")) == 1
    assert venue.refusals[-1021] == 1 and trading.rest.time_offset_ms == 60_000


# -- exactly once ------------------------------------------------------------------------------


async def test_an_order_whose_answer_is_lost_is_looked_up_not_resent(
    venue: FakeBinanceTrading,
) -> None:
    venue.faults = TradingFaults(error_after_accept_every=2, timeout_after_accept_every=3)
    async with client(venue, request_timeout_s=0.2) as trading:
        for i in range(1, 7):
            spec = OrderSpec(SYMBOL, BUY, LIMIT, Decimal("0.01"), f"lost-{i}", Decimal(19000 + i))
            placed = await trading.place(spec)
            assert placed.client_order_id == f"lost-{i}" and placed.price == 19000 + i
    assert venue.faults_done == {"error_after": 2, "timeout_after": 2}
    assert [len(venue.orders_with_id(f"lost-{i}")) for i in range(1, 7)] == [1] * 6
    assert venue.new_order_requests == 6 and trading.resends == 0 and trading.lookups >= 4


async def test_an_order_binance_never_got_is_sent_again_once_its_window_has_passed(
    venue: FakeBinanceTrading,
) -> None:
    venue.fake.fail_rest(503, path="/api/v3/order", times=1)  # refused before the order exists
    async with client(venue) as trading:
        placed = await trading.place(OrderSpec(SYMBOL, BUY, MARKET, Decimal("0.01"), "again"))
    assert placed.status == "FILLED" and len(venue.orders_with_id("again")) == 1
    assert trading.resends == 1
    orders = [r for r in venue.fake.requests if r.path == "/api/v3/order"]
    kinds = [(r.status, "newClientOrderId" in r.params) for r in orders]
    assert kinds == [(503, True), (400, False), (400, False), (200, True)]
    # "no such order" is believed only once the lost request could no longer be accepted
    lost, early, late = orders[0], orders[1], orders[2]
    deadline = int(lost.params["timestamp"]) + int(lost.params["recvWindow"])
    assert early.time_ms < deadline <= late.time_ms


async def test_an_order_binance_keeps_refusing_to_answer_is_given_up_as_not_placed(
    venue: FakeBinanceTrading,
) -> None:
    venue.faults = TradingFaults(error_before_accept_every=1)
    async with client(venue) as trading:
        with pytest.raises(TemporaryError, match="not placed after 5 tries"):
            await trading.place(OrderSpec(SYMBOL, BUY, MARKET, Decimal("0.01"), "never"))
    assert venue.orders_with_id("never") == [] and venue.new_order_requests == 5


async def test_an_oco_whose_answer_is_lost_is_found_by_its_legs(venue: FakeBinanceTrading) -> None:
    venue.faults = TradingFaults(timeout_after_accept_every=1)
    spec = OcoSpec(
        SYMBOL, SELL, Decimal("0.01"), "ls", Decimal(19500), Decimal(19490), "lt", Decimal(19900)
    )
    async with client(venue, request_timeout_s=0.2) as trading:
        stop, target = await trading.place_oco(spec)
    assert (stop.client_order_id, target.client_order_id) == ("ls", "lt")
    assert len(venue.order_lists) == 1 and venue.new_order_requests == 1


@pytest.mark.parametrize("fault", ["cancel_timeout_every", "cancel_error_after_every"])
async def test_a_cancel_of_unknown_fate_is_checked_and_not_repeated(
    venue: FakeBinanceTrading, fault: str
) -> None:
    async with client(venue, request_timeout_s=0.2) as trading:
        await trading.place(OrderSpec(SYMBOL, BUY, LIMIT, Decimal("0.01"), "c-1", Decimal(19000)))
        setattr(venue.faults, fault, 1)
        ended = await trading.cancel(SYMBOL, "c-1")
    assert ended is not None and ended.status == "CANCELED"
    assert venue.cancel_requests == 1 and venue.orders_with_id("c-1")[0].status == "CANCELED"


# -- the API key -------------------------------------------------------------------------------


async def test_a_key_that_may_withdraw_is_refused_unless_allowed(
    venue: FakeBinanceTrading, trading: BinanceTrading
) -> None:
    assert not (await check_api_key(trading)).enable_withdrawals
    venue.withdrawals_enabled = True
    with pytest.raises(UnsafeApiKey, match=r"'Enable Withdrawals'.*allow_withdrawals"):
        await check_api_key(trading)
    assert (await check_api_key(trading, allow_withdrawals=True)).enable_withdrawals
    venue.trading_enabled = False
    with pytest.raises(UnsafeApiKey, match="'Enable Spot & Margin Trading'"):
        await check_api_key(trading, allow_withdrawals=True)
