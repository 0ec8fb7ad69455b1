"""The Binance broker and user data stream against the fake: every order exactly once under lost
answers, Binance's words in rejections, fills from executionReport with fees, no fill lost or
doubled across a user data disconnect, the listen-key fallback, and an engine's bracket as OCO."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from decimal import Decimal

import pandas as pd
import pytest

from tests.venues.conftest import FAST, SYMBOL
from tests.venues.trading_harness import Steps, fake_venue, harness, order
from trading_bot.core.events import (
    FeedRestored,
    FeedStale,
    OrderAccepted,
    OrderCanceled,
    OrderFilled,
    OrderRejected,
    OrderRequestGenerated,
)
from trading_bot.core.hub import EventHub
from trading_bot.core.model import Order, OrderRequest, OrderRole, OrderStatus, OrderType, Side
from trading_bot.execution.engine import ExecutionEngine
from trading_bot.testing.fake_binance_trading import FakeBinanceTrading, TradingFaults
from trading_bot.venues.binance.rest import ApiCredentials, BinanceRest
from trading_bot.venues.binance.user_data import LISTEN_KEY, WS_API, BinanceUserData
from trading_bot.venues.errors import AuthError
from trading_bot.venues.intent import LATE_ENTRY

MARKET, LIMIT, STOP = OrderType.MARKET, OrderType.LIMIT, OrderType.STOP
LOW_1 = "19520"  # above the second candle's low (19505.90), below the price before it


@pytest.fixture
async def venue(btc_5m: pd.DataFrame) -> AsyncIterator[FakeBinanceTrading]:
    async with fake_venue(btc_5m.iloc[:300]) as venue:
        yield venue


def fake_orders(venue: FakeBinanceTrading, cid: str) -> int:
    return len(venue.orders_with_id(cid))


# -- exactly once ------------------------------------------------------------------------------


@pytest.mark.parametrize("user_data", [False, True], ids=["rest-only", "with-user-data"])
async def test_every_order_exists_exactly_once_despite_lost_answers(
    venue: FakeBinanceTrading, user_data: bool
) -> None:
    venue.faults = TradingFaults(
        error_after_accept_every=3, timeout_after_accept_every=4, error_before_accept_every=5
    )
    async with harness(venue, user_data=user_data, request_timeout_s=0.2) as h:
        ids = [f"tb-{i}" for i in range(1, 25)]
        for i, cid in enumerate(ids):
            if i % 2:
                h.broker.submit(order(cid, LIMIT, "0.001", str(18000 + i)))
            else:
                h.broker.submit(order(cid, MARKET, "0.001"))
        await h.until(lambda: {e.client_order_id for e in h.of(OrderAccepted)} == set(ids))
        await h.until(lambda: len(h.of(OrderFilled)) == 12)
    assert [fake_orders(venue, cid) for cid in ids] == [1] * 24
    assert [len(h.of(OrderAccepted, cid)) for cid in ids] == [1] * 24
    assert h.of(OrderRejected) == []
    assert [len(h.of(OrderFilled, cid)) for cid in ids[::2]] == [1] * 12
    assert all(f.fill.qty == Decimal("0.001") for f in h.of(OrderFilled))
    assert set(venue.faults_done) == {"error_after", "timeout_after", "error_before"}
    assert h.trading.lookups >= sum(venue.faults_done.values()) and h.trading.resends >= 1
    venue_ids = {e.client_order_id: e.venue_order_id for e in h.of(OrderAccepted)}
    assert venue_ids == {cid: str(venue.orders_with_id(cid)[0].order_id) for cid in ids}


async def test_a_cancel_of_unknown_fate_cancels_once(venue: FakeBinanceTrading) -> None:
    venue.faults = TradingFaults(cancel_timeout_every=1)
    async with harness(venue, request_timeout_s=0.2) as h:
        h.broker.submit(order("c-1", LIMIT, "0.01", "19000"))
        await h.until(lambda: bool(h.of(OrderAccepted, "c-1")))
        h.broker.cancel("c-1")
        h.broker.cancel("c-1")  # asked twice: still one cancel event
        await h.broker.join()
    assert [e.reason for e in h.of(OrderCanceled, "c-1")] == ["canceled"]
    assert venue.orders_with_id("c-1")[0].status == "CANCELED"


# -- rejections and mapping --------------------------------------------------------------------


async def test_rejections_carry_binances_message_or_ours(venue: FakeBinanceTrading) -> None:
    async with harness(venue, user_data=False) as h:
        h.broker.submit(order("big", MARKET, "1000"))
        h.broker.submit(order("odd", LIMIT, "0.0100001", "19000"))
        h.broker.submit(order("early", STOP, "0.01", "19800", side=Side.SELL))
        await h.until(lambda: len(h.of(OrderRejected)) == 3)
    reasons = {e.client_order_id: e.reason for e in h.of(OrderRejected)}
    assert reasons == {
        "big": "Account has insufficient balance for requested action.",
        "odd": "quantity 0.0100001 is not a multiple of BTC/USDT's lot step 0.00001",
        "early": "Stop price would trigger immediately.",
    }
    assert h.of(OrderAccepted) == [] and fake_orders(venue, "odd") == 0


async def test_a_stop_becomes_a_stop_limit_a_few_ticks_beyond_its_trigger(
    venue: FakeBinanceTrading,
) -> None:
    async with harness(venue, user_data=False, broker={"stop_limit_ticks": 25}) as h:
        h.broker.submit(order("sell-stop", STOP, "0.01", "19500.004", side=Side.SELL))
        h.broker.submit(order("buy-stop", STOP, "0.01", "19900", side=Side.BUY))
        await h.until(lambda: len(h.of(OrderAccepted)) == 2)
    sell, buy = venue.orders_with_id("sell-stop")[0], venue.orders_with_id("buy-stop")[0]
    assert (sell.type, sell.stop_price, sell.price) == (
        "STOP_LOSS_LIMIT",
        Decimal("19500"),
        Decimal("19499.75"),
    )
    assert (buy.type, buy.stop_price, buy.price) == (
        "STOP_LOSS_LIMIT",
        Decimal("19900"),
        Decimal("19900.25"),
    )


# -- fills from the user data stream -----------------------------------------------------------


async def test_execution_reports_become_fills_with_fees_and_trade_times(
    venue: FakeBinanceTrading,
) -> None:
    venue.fill_parts = 3
    async with harness(venue) as h:
        assert h.user is not None and h.user.mode == WS_API
        h.broker.submit(order("buy", LIMIT, "0.03", LOW_1))
        h.broker.submit(order("sell", MARKET, "0.02", side=Side.SELL))
        await h.until(lambda: len(h.of(OrderAccepted)) == 2)
        h.steps.until(lambda: not venue.working_orders())
        await h.until(lambda: len(h.of(OrderFilled)) == 6)
        assert h.broker.reconciles == 1  # the fills came from the stream, not a REST catch-up
    trades = {t.id: t for t in venue.trades}
    buys = [e.fill for e in h.of(OrderFilled, "buy")]
    assert [f.qty for f in buys] == [Decimal("0.01")] * 3
    assert {f.price for f in buys} == {Decimal(LOW_1)}
    assert [f.fee for f in buys] == [Decimal("0.00001") * Decimal(LOW_1)] * 3  # base, valued
    assert [f.time for f in buys] == [
        t.time for t in venue.trades if t.order_id == venue.orders_with_id("buy")[0].order_id
    ]
    sells = [e.fill for e in h.of(OrderFilled, "sell")]
    assert sum(f.qty for f in sells) == Decimal("0.02")
    assert sum(f.fee for f in sells) == sum(t.commission for t in trades.values() if not t.is_buyer)
    assert all(f.role is OrderRole.ENTRY and f.symbol == SYMBOL for f in buys + sells)


@pytest.mark.parametrize("duplicate_every", [None, 1], ids=["lost", "lost-and-duplicated"])
async def test_a_disconnect_during_fills_loses_and_doubles_nothing(
    venue: FakeBinanceTrading, duplicate_every: int | None
) -> None:
    venue.fill_parts = 4
    venue.user_data.faults.duplicate_every = duplicate_every
    async with harness(venue) as h:
        assert h.user is not None
        h.broker.submit(order("a", LIMIT, "0.04", LOW_1))
        h.broker.submit(order("b", LIMIT, "0.02", LOW_1))
        await h.until(lambda: len(h.of(OrderAccepted)) == 2)
        # each trade sends an executionReport and a balance update: cut after the second trade
        venue.user_data.faults.drop_after_events = venue.user_data.events_sent + 4
        h.steps.until(lambda: not venue.working_orders())
        await h.until(
            lambda: len(h.of(OrderFilled)) == 8 and h.user is not None and h.user.synced.is_set()
        )
        await h.until(lambda: bool(h.of(FeedRestored)))
    fills = h.of(OrderFilled)
    assert sorted(e.fill.client_order_id for e in fills) == ["a"] * 4 + ["b"] * 4
    assert sum(e.fill.qty for e in h.of(OrderFilled, "a")) == Decimal("0.04")
    assert sum(e.fill.qty for e in h.of(OrderFilled, "b")) == Decimal("0.02")
    assert h.user.connects == 2 and h.broker.reconciles == 2
    assert h.broker.duplicate_fills >= (2 if duplicate_every else 0)
    assert [type(e) for e in h.events if isinstance(e, FeedStale | FeedRestored)] == [
        FeedStale,
        FeedRestored,
    ]


async def test_without_the_websocket_api_order_updates_come_from_a_listen_key(
    venue: FakeBinanceTrading,
) -> None:
    venue.user_data.refuse_ws_api(1)
    async with harness(venue) as h:
        assert h.user is not None and h.user.mode == LISTEN_KEY and h.user.fallbacks == 1
        h.broker.submit(order("lk", LIMIT, "0.01", LOW_1))
        await h.until(lambda: bool(h.of(OrderAccepted, "lk")))
        h.steps.until(lambda: not venue.working_orders())
        await h.until(lambda: bool(h.of(OrderFilled, "lk")))
    assert venue.user_data.listen_keys == 1 and venue.user_data.subscriptions == 0
    assert h.broker.reconciles == 1


async def test_the_subscription_resyncs_a_stale_clock(venue: FakeBinanceTrading) -> None:
    venue.fake.clock_skew_ms = 30_000  # Binance's clock is ahead: our first timestamp is stale
    async with harness(venue) as h:
        assert h.user is not None and h.user.mode == WS_API
        assert venue.user_data.refusals[-1021] == 1 and h.rest.time_offset_ms == 30_000


async def test_a_wrong_key_stops_order_updates_with_an_auth_error(
    venue: FakeBinanceTrading,
) -> None:
    settings = venue.fake.settings(**FAST)
    wrong = ApiCredentials(venue.api_key, "not the secret")
    async with BinanceRest(settings, venue.fake.clock, credentials=wrong) as rest:
        user = BinanceUserData(EventHub(), venue.fake.clock, rest, settings, print, rest.close)
        with pytest.raises(AuthError, match="-1022"):
            await asyncio.wait_for(user.run(), 10)


# -- with the execution engine -----------------------------------------------------------------


def bracketed_buy(stop: str, target: str) -> OrderRequestGenerated:
    """A market entry of 0.05 BTC whose stop and target the engine places once it fills."""
    request = OrderRequest(
        SYMBOL,
        Side.BUY,
        MARKET,
        Decimal("0.05"),
        OrderRole.ENTRY,
        0,
        stop_loss=Decimal(stop),
        take_profit=Decimal(target),
    )
    return OrderRequestGenerated(request)


async def test_an_entrys_bracket_goes_as_one_oco_and_one_leg_ends_the_other(
    venue: FakeBinanceTrading,
) -> None:
    async with harness(venue) as h:
        engine = ExecutionEngine(h.hub, h.fake.clock, h.broker)
        h.hub.publish(bracketed_buy("19400", "19800"))
        await h.until(lambda: len(h.of(OrderAccepted)) == 3)
        assert len(venue.order_lists) == 1
        legs = {o.type: o for o in venue.working_orders()}
        assert legs["STOP_LOSS_LIMIT"].stop_price == Decimal("19400")
        assert legs["LIMIT_MAKER"].price == Decimal("19800")
        h.steps.until(lambda: not venue.working_orders())
        await h.until(lambda: len(h.of(OrderFilled)) == 2 and len(h.of(OrderCanceled)) == 1)
        await h.until(lambda: not engine.open_orders())
        await h.broker.join()
    entry, exit_fill = (e.fill for e in h.of(OrderFilled))
    assert entry.role is OrderRole.ENTRY and exit_fill.role in (
        OrderRole.STOP_LOSS,
        OrderRole.TAKE_PROFIT,
    )
    # the buy's commission was paid in BTC: the bracket sells what the account got, no more
    assert entry.qty == Decimal("0.05") and entry.fee_qty == Decimal("0.00005")
    assert exit_fill.qty == entry.held_qty == Decimal("0.04995")
    assert venue.balances["BTC"] == Decimal(100)  # as before the round trip: nothing left over
    canceled = h.of(OrderCanceled)[0]
    assert canceled.reason == "expired: the other order of its OCO filled"
    assert len(h.of(OrderCanceled)) == 1 and h.of(OrderRejected) == []


async def test_a_refused_stop_closes_the_position_at_market_at_once(
    venue: FakeBinanceTrading,
) -> None:
    """The price has passed the stop before it could be placed: Binance refuses the OCO."""
    async with harness(venue) as h:
        engine = ExecutionEngine(h.hub, h.fake.clock, h.broker)
        h.hub.publish(bracketed_buy("19900", "20500"))  # the stop is above the market
        await h.until(lambda: len(h.of(OrderFilled)) == 2)
        await h.broker.join()
    entry, exit_fill = (e.fill for e in h.of(OrderFilled))
    assert exit_fill.role is OrderRole.EXIT and exit_fill.qty == entry.held_qty
    assert "stop-loss refused" in exit_fill.reason
    assert {e.client_order_id for e in h.of(OrderRejected)} == {"tb-2", "tb-3"}  # the OCO
    assert not engine.open_orders() and not venue.working_orders()


async def test_an_order_refused_by_a_rate_limit_goes_once_the_limit_has_passed(
    venue: FakeBinanceTrading,
) -> None:
    async with harness(venue) as h:
        h.fake.fail_rest(429, retry_after=1, path="/api/v3/order")
        h.broker.submit(order("tb-1", MARKET, "0.01", side=Side.SELL, role=OrderRole.EXIT))
        await h.until(lambda: len(h.of(OrderFilled)) == 1)
        await h.broker.join()
    assert fake_orders(venue, "tb-1") == 1 and h.of(OrderRejected) == []


async def test_an_entry_is_dropped_when_the_rate_limit_lasts_longer_than_its_signal(
    venue: FakeBinanceTrading,
) -> None:
    async with harness(venue, broker={"max_entry_delay_s": 30}) as h:
        h.fake.fail_rest(418, retry_after=120, path="/api/v3/order")
        h.broker.submit(order("tb-1", MARKET, "0.01"))
        await h.until(lambda: len(h.of(OrderRejected)) == 1)
    (rejected,) = h.of(OrderRejected)
    assert "120 s is too long a wait for an entry" in rejected.reason
    assert fake_orders(venue, "tb-1") == 0


async def test_after_a_restart_fills_made_while_down_are_booked_once(
    venue: FakeBinanceTrading,
) -> None:
    venue.fill_parts = 3
    async with harness(venue, user_data=False) as first:
        first.broker.submit(order("r-1", LIMIT, "0.03", LOW_1))
        await first.until(lambda: bool(first.of(OrderAccepted)))
    Steps(venue.fake).until(lambda: not venue.working_orders())  # fills while the bot is down
    restored = order("r-1", LIMIT, "0.03", LOW_1)  # as storage has it: one fill booked
    restored.status, restored.filled_qty = OrderStatus.PARTIALLY_FILLED, Decimal("0.01")
    restored.venue_order_id = str(venue.orders_with_id("r-1")[0].order_id)
    async with harness(venue) as second:
        second.broker.adopt([restored])
        await second.broker.reconcile()
        await second.until(lambda: len(second.of(OrderFilled)) == 2)
        await second.broker.reconcile()  # again: nothing new
    assert [e.fill.qty for e in second.of(OrderFilled)] == [Decimal("0.01")] * 2
    assert second.of(OrderAccepted) == []  # accepted before the restart


async def test_after_a_restart_an_unconfirmed_order_is_placed_only_if_binance_lacks_it(
    venue: FakeBinanceTrading,
) -> None:
    venue.faults = TradingFaults(timeout_after_accept_every=1)  # the bot "dies" unanswered
    async with harness(venue, user_data=False, request_timeout_s=0.2) as first:
        first.broker.submit(order("u-1", LIMIT, "0.01", "19000"))
        await first.until(lambda: bool(venue.orders_with_id("u-1")) and first.trading.lookups > 0)
    venue.faults = TradingFaults()
    reached = order("u-1", LIMIT, "0.01", "19000")
    lost_entry = order("u-2", LIMIT, "0.01", "19001")
    lost_exit = order("u-3", LIMIT, "0.01", "21000", side=Side.SELL, role=OrderRole.EXIT)
    async with harness(venue) as second:
        second.broker.adopt([reached, lost_entry, lost_exit])  # SUBMITTED: fate unknown
        await second.broker.reconcile()  # as at every start: settled before anything trades
        await second.until(
            lambda: len(second.of(OrderAccepted)) + len(second.of(OrderCanceled)) == 3
        )
    assert [fake_orders(venue, cid) for cid in ("u-1", "u-2", "u-3")] == [1, 0, 1]
    (dropped,) = second.of(OrderCanceled)  # an entry is never sent late: its signal is history
    assert dropped.client_order_id == "u-2" and dropped.reason == LATE_ENTRY
    assert second.trading.resends == 0 and venue.new_order_requests == 2  # u-3, once


async def test_an_order_is_written_down_before_it_leaves_or_not_sent_at_all(
    venue: FakeBinanceTrading,
) -> None:
    recorded: list[tuple[str, int]] = []  # (order, copies at Binance when it was recorded)

    async def persist(order: Order) -> None:
        recorded.append((order.client_order_id, fake_orders(venue, order.client_order_id)))
        if order.client_order_id == "w-2":
            raise OSError("disk full")

    async with harness(venue, user_data=False, broker={"persist": persist}) as h:
        h.broker.submit(order("w-1", MARKET, "0.01"))
        h.broker.submit(order("w-2", MARKET, "0.01"))
        await h.until(lambda: bool(h.of(OrderFilled)) and bool(h.of(OrderRejected)))
    assert recorded == [("w-1", 0), ("w-2", 0)]  # before anything was sent
    assert fake_orders(venue, "w-1") == 1 and fake_orders(venue, "w-2") == 0
    assert "could not be recorded before sending (disk full)" in h.of(OrderRejected)[0].reason
