"""Limit entries: sized at their price, filled when reached, canceled when expired or replaced."""

from decimal import Decimal

from trading_bot.core.events import OrderCanceled, OrderFilled, PositionClosed
from trading_bot.core.model import Direction, OrderRole, OrderStatus, OrderType

from .conftest import HOUR, MakeDriver

LONG, SHORT, FLAT = Direction.LONG, Direction.SHORT, Direction.FLAT


def test_a_limit_entry_waits_for_its_price_and_is_sized_from_it(make_driver: MakeDriver) -> None:
    d = make_driver({0: (LONG, 95.0, 105.0, 98.0, 10)}, risk_per_trade_pct=1)
    d.candle(100, 100, 100, 100)
    (entry,) = d.pipeline.execution.open_orders()
    assert (entry.type, entry.price, entry.qty) == (OrderType.LIMIT, Decimal(98), Decimal("33.333"))
    d.candle(100, 101, 99, 100)  # not reached
    assert d.of(OrderFilled) == []
    d.candle(99, 100, 97, 99)  # reached: fills at the limit, the bracket follows
    fill = d.of(OrderFilled)[0].fill
    assert (fill.price, fill.time) == (Decimal(98), 2 * HOUR)
    d.candle(99, 106, 99, 105)
    (trade,) = [e.trade for e in d.of(PositionClosed)]
    assert (trade.exit_reason, trade.exit_price) == ("take_profit", Decimal(105))


def test_an_unfilled_entry_expires_at_the_close_of_its_last_candle(make_driver: MakeDriver) -> None:
    d = make_driver({0: (SHORT, 110.0, None, 104.0, 2)})
    d.candle(100, 100, 100, 100)
    d.candle(100, 103, 99, 100)
    assert len(d.pipeline.execution.open_orders()) == 1
    d.candle(100, 103, 99, 100)  # its close reaches the expiry
    (canceled,) = d.of(OrderCanceled)
    order = d.pipeline.execution.get(canceled.client_order_id)
    assert order is not None and order.status is OrderStatus.CANCELED
    d.candle(104, 106, 103, 105)  # would have filled
    assert d.of(OrderFilled) == []


def test_a_new_signal_or_flat_replaces_a_pending_entry(make_driver: MakeDriver) -> None:
    d = make_driver(
        {0: (LONG, None, None, 90.0), 1: (LONG, None, None, 95.0), 2: (FLAT, None, None)}
    )
    d.candle(100, 100, 100, 100)
    d.candle(100, 100, 100, 100)
    (entry,) = d.pipeline.execution.open_orders()
    assert entry.price == Decimal(95)
    d.candle(100, 100, 100, 100)
    assert d.pipeline.execution.open_orders() == []
    assert [d.pipeline.execution.get(e.client_order_id).role for e in d.of(OrderCanceled)] == [  # type: ignore[union-attr]
        OrderRole.ENTRY,
        OrderRole.ENTRY,
    ]
