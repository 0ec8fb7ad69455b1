from decimal import Decimal

from trading_bot.core.events import OrderCanceled, OrderFilled, OrderRejected, PositionClosed
from trading_bot.core.model import Direction, Instrument, OrderRole, OrderStatus

from .conftest import HOUR, SYMBOL, MakeDriver

LONG, SHORT, FLAT = Direction.LONG, Direction.SHORT, Direction.FLAT


def test_market_entry_fills_at_the_next_candle_open_with_fee(make_driver: MakeDriver) -> None:
    d = make_driver({0: (LONG, None, None)}, fee_rate=0.001, position_size_pct=50)
    d.candle(100, 101, 99, 100)
    assert d.of(OrderFilled) == []
    d.candle(102, 103, 101, 102)
    (fill,) = [e.fill for e in d.of(OrderFilled)]
    assert fill.price == Decimal("102")
    assert fill.time == HOUR  # the open time of the candle whose price filled it
    assert fill.qty == Decimal("50.000")  # 50% of 10,000 at the signal close 100
    assert fill.fee == fill.qty * fill.price * Decimal("0.001")


def test_stop_is_assumed_first_when_a_candle_reaches_stop_and_target(
    make_driver: MakeDriver,
) -> None:
    d = make_driver({0: (LONG, 95.0, 110.0)}, risk_per_trade_pct=1)
    d.candle(100, 100, 100, 100)
    d.candle(100, 111, 94, 100)  # entry at the open, then both 95 and 110 are reached
    (trade,) = [e.trade for e in d.of(PositionClosed)]
    assert trade.exit_reason == "stop_loss"
    assert trade.exit_price == Decimal("95")
    assert trade.qty == Decimal("20.000")  # 1% of 10,000 over a 5.0 stop distance
    assert trade.pnl == Decimal("-100")
    canceled = d.of(OrderCanceled)
    assert len(canceled) == 1
    target = d.pipeline.execution.get(canceled[0].client_order_id)
    assert target is not None and target.role is OrderRole.TAKE_PROFIT
    assert target.status is OrderStatus.CANCELED


def test_target_fills_at_its_price_and_cancels_the_stop(make_driver: MakeDriver) -> None:
    d = make_driver({0: (LONG, 95.0, 110.0)})
    d.candle(100, 100, 100, 100)
    d.candle(100, 105, 99, 104)
    d.candle(104, 112, 103, 111)
    (trade,) = [e.trade for e in d.of(PositionClosed)]
    assert (trade.exit_reason, trade.exit_price, trade.exit_time) == (
        "take_profit",
        Decimal(110),
        2 * HOUR,
    )
    assert d.pipeline.execution.open_orders() == []


def test_a_gap_through_the_stop_fills_at_the_open(make_driver: MakeDriver) -> None:
    d = make_driver({0: (SHORT, 105.0, None)})
    d.candle(100, 100, 100, 100)
    d.candle(100, 101, 99, 100)
    d.candle(108, 109, 107, 108)
    (trade,) = [e.trade for e in d.of(PositionClosed)]
    assert trade.side is Direction.SHORT
    assert trade.exit_price == Decimal(108)


def test_slippage_is_adverse_on_market_and_stop_fills(make_driver: MakeDriver) -> None:
    d = make_driver({0: (LONG, 90.0, None)}, slippage_bps=10)
    d.candle(100, 100, 100, 100)
    d.candle(100, 100, 100, 100)
    d.candle(95, 95, 80, 85)
    fills = [e.fill for e in d.of(OrderFilled)]
    assert fills[0].price == Decimal("100.10")
    assert fills[1].price == Decimal("89.91")


def test_a_reversal_closes_the_position_cancels_its_protection_and_opens_the_other_side(
    make_driver: MakeDriver,
) -> None:
    d = make_driver({0: (LONG, 90.0, 120.0), 2: (SHORT, None, None)}, position_size_pct=10)
    for price in (100, 101, 102, 103):
        d.candle(price, price, price, price)
    (trade,) = [e.trade for e in d.of(PositionClosed)]
    assert (trade.side, trade.entry_price, trade.exit_price) == (LONG, Decimal(101), Decimal(103))
    assert trade.exit_reason == "plan"
    position = d.pipeline.portfolio.position("TEST/USD")
    assert position is not None and position.direction is SHORT
    assert {o.role for o in d.pipeline.execution.open_orders()} == set()
    assert len(d.of(OrderCanceled)) == 2


def test_an_order_the_broker_cannot_take_is_rejected_with_a_reason(make_driver: MakeDriver) -> None:
    d = make_driver({})
    broker = d.pipeline.broker
    from trading_bot.core.model import Order, OrderType, Side

    broker.submit(Order("x1", "NOPE", Side.BUY, OrderType.MARKET, Decimal(1), OrderRole.ENTRY, 0))
    (rejected,) = d.of(OrderRejected)
    assert rejected.reason == "unknown symbol NOPE"


def test_a_spot_buy_pays_its_fee_in_the_asset_bought_as_the_venue_does(
    make_driver: MakeDriver,
) -> None:
    spot = Instrument(SYMBOL, Decimal("0.01"), Decimal("0.001"), spot=True)
    plan = {0: (LONG, 95.0, 110.0)}
    d = make_driver(plan, fee_rate=0.001, instrument=spot, risk_per_trade_pct=1)
    d.candle(100, 100, 100, 100)
    d.candle(100, 100, 100, 100)  # 20 bought at 100: the venue keeps 0.02 of them
    (entry,) = [e.fill for e in d.of(OrderFilled)]
    assert (entry.qty, entry.fee_qty, entry.fee) == (Decimal("20.000"), Decimal("0.020"), 2)
    position = d.pipeline.portfolio.position(SYMBOL)
    assert position is not None and position.qty == Decimal("19.980")
    assert d.pipeline.portfolio.cash == Decimal(10_000) - 20 * 100  # exactly qty x price
    d.candle(100, 111, 100, 105)  # the target sells what the position holds, no more
    target = d.of(OrderFilled)[-1].fill
    assert target.role is OrderRole.TAKE_PROFIT and target.qty == Decimal("19.980")
    assert target.fee == target.qty * 110 * Decimal("0.001")  # a sale pays in the quote asset
    assert d.pipeline.portfolio.open_position_count() == 0
