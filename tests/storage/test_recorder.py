from __future__ import annotations

import asyncio
from dataclasses import replace
from decimal import Decimal

from trading_bot.core.events import (
    EquityUpdated,
    OrderAccepted,
    OrderCanceled,
    OrderFilled,
    OrderRejected,
    OrderSubmitted,
    PositionChanged,
    PositionClosed,
)
from trading_bot.core.hub import EventHub, Priority
from trading_bot.core.model import Order, OrderStatus
from trading_bot.storage import RecordBatch, Recorder, StateStore

from . import factories


class OrderBook:
    """Stands in for the execution engine: owns the orders and updates them, at its own
    priority, before the recorder sees the event."""

    def __init__(self, hub: EventHub) -> None:
        self.orders: dict[str, Order] = {}
        hub.subscribe(OrderAccepted, self._accepted, Priority.EXECUTION)
        hub.subscribe(OrderFilled, self._filled, Priority.EXECUTION)
        hub.subscribe(OrderRejected, self._finished, Priority.EXECUTION)
        hub.subscribe(OrderCanceled, self._finished, Priority.EXECUTION)

    def submit(self, hub: EventHub, order: Order) -> None:
        self.orders[order.client_order_id] = order
        hub.publish(OrderSubmitted(order))

    def _accepted(self, event: OrderAccepted) -> None:
        order = self.orders[event.client_order_id]
        order.status, order.venue_order_id = OrderStatus.ACCEPTED, event.venue_order_id

    def _filled(self, event: OrderFilled) -> None:
        order = self.orders[event.fill.client_order_id]
        order.filled_qty += event.fill.qty
        order.avg_fill_price = event.fill.price
        order.status = (
            OrderStatus.FILLED if order.remaining_qty == 0 else OrderStatus.PARTIALLY_FILLED
        )

    def _finished(self, event: OrderRejected | OrderCanceled) -> None:
        if event.client_order_id is not None:
            rejected = isinstance(event, OrderRejected)
            status = OrderStatus.REJECTED if rejected else OrderStatus.CANCELED
            self.orders[event.client_order_id].status = status


async def test_recorded_events_are_saved_from_a_worker_thread(store: StateStore) -> None:
    hub = EventHub()
    book = OrderBook(hub)
    recorder = Recorder(hub, book.orders.get)

    entry = factories.order("bot-1", created_time=1, qty=Decimal("0.00000002"))
    book.submit(hub, entry)
    hub.publish(OrderAccepted("bot-1", time=2, venue_order_id="v-1"))
    hub.publish(OrderFilled(factories.fill("bot-1")))
    hub.publish(OrderFilled(factories.fill("bot-1")))  # a twin of the first, and genuine
    book.submit(hub, factories.order("bot-2", created_time=3))
    hub.publish(OrderCanceled("bot-2", reason="replaced", time=4))
    book.submit(hub, factories.order("bot-3", created_time=5))
    hub.publish(
        OrderRejected("BTCUSDT", reason="insufficient margin", time=6, client_order_id="bot-3")
    )
    hub.publish(OrderRejected("BTCUSDT", reason="max positions", time=6))  # no order: ignored
    hub.publish(PositionChanged(factories.position(), time=7))
    hub.publish(PositionClosed(factories.trade()))
    hub.publish(EquityUpdated(time=8, equity=1.0, cash=1.0))
    hub.publish(EquityUpdated(time=8, equity=10_000.5, cash=9_000.25))  # same candle: latest
    hub.publish(EquityUpdated(time=9, equity=10_001.5, cash=9_000.25))
    recorder.set_state("paused", {"until": 86_400_000})
    # Later changes by the owners must not leak into what was recorded.
    entry.reason = "edited after the events"
    assert not hub.failures

    batch = recorder.take_batch()
    assert recorder.take_batch() == RecordBatch()
    assert list(batch.fills) == ["bot-1:1", "bot-1:2"]
    assert batch.orders["bot-1"].reason == "sweep of the Asian low"
    assert batch.equity == {8: (10_000.5, 9_000.25), 9: (10_001.5, 9_000.25)}

    await asyncio.to_thread(store.save, batch)

    saved = {o.client_order_id: o for o in store.load_orders(open_only=False)}
    assert saved["bot-1"] == replace(
        entry,
        reason="sweep of the Asian low",
        status=OrderStatus.FILLED,
        venue_order_id="v-1",
        filled_qty=Decimal("0.00000002"),
        avg_fill_price=Decimal("12345678.123456789"),
    )
    assert saved["bot-2"].status is OrderStatus.CANCELED
    assert saved["bot-3"].status is OrderStatus.REJECTED
    assert store.load_orders() == []
    assert store.fill_counts() == {"bot-1": 2}
    assert store.load_positions() == [factories.position()]
    assert store.load_trades() == [factories.trade()]
    assert store.load_equity() == [(8, 10_000.5, 9_000.25), (9, 10_001.5, 9_000.25)]
    assert store.get_state("paused") == {"until": 86_400_000}


def test_fill_numbering_continues_after_a_restart(store: StateStore) -> None:
    hub = EventHub()
    before = Recorder(hub, lambda _id: None)
    hub.publish(OrderFilled(factories.fill("bot-1")))
    hub.publish(OrderFilled(factories.fill("bot-1")))
    store.save(before.take_batch())

    hub = EventHub()
    after = Recorder(hub, lambda _id: None, fill_counts=store.fill_counts())
    hub.publish(OrderFilled(factories.fill("bot-1")))
    batch = after.take_batch()
    assert list(batch.fills) == ["bot-1:3"]
    store.save(batch)
    assert store.fill_counts() == {"bot-1": 3}


def test_an_unknown_order_is_not_recorded_but_its_fill_is() -> None:
    hub = EventHub()
    recorder = Recorder(hub, lambda _id: None)
    hub.publish(OrderAccepted("ghost", time=1))
    hub.publish(OrderFilled(factories.fill("ghost")))
    batch = recorder.take_batch()
    assert batch.orders == {}
    assert list(batch.fills) == ["ghost:1"]
    assert not hub.failures
