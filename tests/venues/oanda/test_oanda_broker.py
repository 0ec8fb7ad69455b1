"""The OANDA broker under the real ExecutionEngine and PortfolioManager, against the fake: an
entry fills with its stop and target at OANDA, the engine's exit legs are bound to them, and
what happens at the venue (a stop hit, the position closed) shows in our books."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from decimal import Decimal

import pandas as pd
import pytest

from tests.venues.oanda.conftest import SYMBOL
from tests.venues.oanda.desk import Desk, oanda_desk
from trading_bot.core.events import (
    OrderAccepted,
    OrderCanceled,
    OrderRejected,
    OrderRequestGenerated,
)
from trading_bot.core.model import OrderRequest, OrderRole, OrderStatus, OrderType, Side

Frames = Callable[[int], pd.DataFrame]


@pytest.fixture
async def desk(fives: Frames) -> AsyncIterator[Desk]:
    async with oanda_desk(fives(400)) as desk:
        yield desk


async def test_an_entry_fills_with_its_stop_and_target_and_a_hit_shows_in_the_books(
    desk: Desk,
) -> None:
    ask = await desk.bracketed_long()
    (entry,) = desk.fills(OrderRole.ENTRY)
    assert (entry.fill.qty, entry.fill.price, entry.fill.fee) == (Decimal(1000), ask, 0)
    position = desk.portfolio.position(SYMBOL)
    assert position is not None and position.qty == 1000
    (trade,) = desk.book.trades.values()
    legs = {o.role: o for o in desk.engine.open_orders(SYMBOL)}
    assert legs[OrderRole.STOP_LOSS].venue_order_id == trade.stop_loss.id  # type: ignore[union-attr]
    assert legs[OrderRole.TAKE_PROFIT].venue_order_id == trade.take_profit.id  # type: ignore[union-attr]
    assert desk.book.order_requests == 1  # the legs were OANDA's own, never sent again

    desk.fake.start_market()  # the price moves until the stop or the target is hit
    await desk.until(lambda: desk.engine.open_orders(SYMBOL) == [])
    (exit_fill,) = desk.fills(OrderRole.STOP_LOSS) + desk.fills(OrderRole.TAKE_PROFIT)
    assert exit_fill.fill.qty == 1000
    position = desk.portfolio.position(SYMBOL)
    assert position is None or position.qty == 0
    assert desk.book.trades == {}
    canceled = [e for e in desk.events if isinstance(e, OrderCanceled)]
    assert len(canceled) == 1  # the other leg, cancelled by OANDA with the trade


async def test_an_order_answered_with_a_5xx_is_found_by_client_id_not_sent_twice(
    desk: Desk,
) -> None:
    desk.book.fail_after_accept(503)
    desk.enter(Side.SELL, None, None)
    await desk.until(lambda: bool(desk.fills(OrderRole.ENTRY)))
    assert desk.book.order_requests == 1 and len(desk.book.trades) == 1
    (entry,) = desk.fills(OrderRole.ENTRY)
    assert entry.fill.side is Side.SELL and entry.fill.qty == 1000
    position = desk.portfolio.position(SYMBOL)
    assert position is not None and position.qty == -1000


async def test_closing_the_position_at_the_venue_cancels_the_legs(desk: Desk) -> None:
    ask = desk.ask()
    desk.enter(Side.BUY, ask - Decimal("0.01"), ask + Decimal("0.01"))
    await desk.until(lambda: sum(isinstance(e, OrderAccepted) for e in desk.events) == 3)
    fill = await desk.trading.close_position(SYMBOL, Side.BUY)  # closed by hand, at OANDA
    assert fill is not None and fill.units == -1000
    await desk.until(lambda: desk.engine.open_orders(SYMBOL) == [])
    legs = [e for e in desk.events if isinstance(e, OrderCanceled)]
    assert len(legs) == 2 and all("LINKED_TRADE_CLOSED" in e.reason for e in legs)
    stop = desk.engine.get(legs[0].client_order_id)
    assert stop is not None and stop.status is OrderStatus.CANCELED


async def test_a_market_order_while_the_market_is_closed_is_rejected(desk: Desk) -> None:
    await desk.fake.close_market()
    desk.enter(Side.BUY, None, None)
    await desk.until(lambda: any(isinstance(e, OrderRejected) for e in desk.events))
    (rejected,) = [e for e in desk.events if isinstance(e, OrderRejected)]
    assert "MARKET_HALTED" in rejected.reason
    assert desk.portfolio.position(SYMBOL) is None


async def test_fills_while_the_transactions_stream_is_down_arrive_after_it_is_back(
    desk: Desk,
) -> None:
    await desk.bracketed_long()
    desk.book.cut_transactions()
    desk.fake.start_market()
    await desk.fake.finished.wait()  # the stop or the target was hit meanwhile
    await desk.until(lambda: desk.engine.open_orders(SYMBOL) == [])
    assert desk.book.transaction_connections >= 2
    assert len(desk.fills(OrderRole.STOP_LOSS) + desk.fills(OrderRole.TAKE_PROFIT)) == 1
    position = desk.portfolio.position(SYMBOL)
    assert position is None or position.qty == 0


async def test_a_leg_larger_than_its_trade_ends_with_the_fill_that_closed_the_trade(
    desk: Desk,
) -> None:
    await desk.bracketed_long()
    body = {"order": {"type": "MARKET", "instrument": "EUR_USD", "units": "-400"}}
    await desk.trading.rest.write("POST", f"/v3/accounts/{desk.fake.account_id}/orders", body)
    desk.fake.start_market()  # the stop or the target closes the 600 units left of the trade
    await desk.until(lambda: desk.engine.open_orders(SYMBOL) == [])
    (exit_fill,) = desk.fills(OrderRole.STOP_LOSS) + desk.fills(OrderRole.TAKE_PROFIT)
    assert exit_fill.fill.qty == 600
    leg = desk.engine.get(exit_fill.fill.client_order_id)
    assert leg is not None and leg.status is OrderStatus.CANCELED and leg.filled_qty == 600
    position = desk.portfolio.position(SYMBOL)  # the hand-made sale is not the bot's
    assert position is not None and position.qty == 400


async def test_an_exit_that_finds_the_trade_already_closed_at_oanda_opens_nothing(
    desk: Desk,
) -> None:
    ask = desk.ask()
    desk.enter(Side.BUY, ask - Decimal("0.002"), None)
    await desk.until(lambda: sum(isinstance(e, OrderAccepted) for e in desk.events) == 2)
    # the trade closes at OANDA (as a stop fill would) before the bot's own exit arrives
    body = {"order": {"type": "MARKET", "instrument": "EUR_USD", "units": "-1000"}}
    await desk.trading.rest.write("POST", f"/v3/accounts/{desk.fake.account_id}/orders", body)
    request = OrderRequest(
        SYMBOL, Side.SELL, OrderType.MARKET, Decimal(1000), OrderRole.EXIT, 0, reason="test exit"
    )
    desk.hub.publish(OrderRequestGenerated(request))
    await desk.until(lambda: any(isinstance(e, OrderRejected) for e in desk.events))
    (rejected,) = [e for e in desk.events if isinstance(e, OrderRejected)]
    assert "OANDA cancelled the market order" in rejected.reason
    assert desk.fills(OrderRole.EXIT) == []
    assert desk.book.trades == {}  # OANDA holds no short opened by the late exit


async def test_an_exit_larger_than_the_position_at_oanda_closes_it_and_ends(desk: Desk) -> None:
    desk.enter(Side.BUY, None, None)
    await desk.until(lambda: bool(desk.fills(OrderRole.ENTRY)))
    body = {"order": {"type": "MARKET", "instrument": "EUR_USD", "units": "-400"}}
    await desk.trading.rest.write("POST", f"/v3/accounts/{desk.fake.account_id}/orders", body)
    request = OrderRequest(
        SYMBOL, Side.SELL, OrderType.MARKET, Decimal(1000), OrderRole.EXIT, 0, reason="test exit"
    )
    desk.hub.publish(OrderRequestGenerated(request))
    await desk.until(lambda: desk.engine.open_orders(SYMBOL) == [])
    (exit_fill,) = desk.fills(OrderRole.EXIT)
    assert exit_fill.fill.qty == 600
    order = desk.engine.get(exit_fill.fill.client_order_id)
    assert order is not None and order.status is OrderStatus.CANCELED
    assert desk.book.trades == {}  # flat at OANDA: nothing was opened the other way
