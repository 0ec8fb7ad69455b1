"""The execution engine: owns every order's life, from request to fill, cancel or rejection.

Each order gets its client order id before it leaves, so a venue can be asked about it after a
timeout (idempotence). Stop-loss and take-profit orders attached to an entry are placed when the
entry fills, linked one-cancels-other; an exit that flattens a position cancels them.
"""

from __future__ import annotations

from decimal import Decimal

import structlog

from trading_bot.core.clock import Clock
from trading_bot.core.events import (
    OrderAccepted,
    OrderCanceled,
    OrderFilled,
    OrderRejected,
    OrderRequestGenerated,
    OrderSubmitted,
)
from trading_bot.core.hub import EventHub, Priority
from trading_bot.core.model import (
    Order,
    OrderRole,
    OrderStatus,
    OrderType,
    Side,
)
from trading_bot.core.ports import Broker

log = structlog.get_logger("trading_bot.execution")

_PROTECTIVE = (OrderRole.STOP_LOSS, OrderRole.TAKE_PROFIT)


class ExecutionEngine:
    def __init__(self, hub: EventHub, clock: Clock, broker: Broker, id_prefix: str = "tb-") -> None:
        self.hub = hub
        self.clock = clock
        self.broker = broker
        self.id_prefix = id_prefix
        self.sequence = 0
        self.orders: dict[str, Order] = {}
        self._open: dict[str, Order] = {}
        hub.subscribe(OrderRequestGenerated, self._on_request, Priority.EXECUTION)
        hub.subscribe(OrderAccepted, self._on_accepted, Priority.EXECUTION)
        hub.subscribe(OrderFilled, self._on_filled, Priority.EXECUTION)
        hub.subscribe(OrderRejected, self._on_rejected, Priority.EXECUTION)
        hub.subscribe(OrderCanceled, self._on_canceled, Priority.EXECUTION)

    # -- queries (OrderView) ------------------------------------------------------------------

    def open_orders(self, symbol: str | None = None) -> list[Order]:
        return [o for o in self._open.values() if symbol is None or o.symbol == symbol]

    def get(self, client_order_id: str) -> Order | None:
        return self.orders.get(client_order_id)

    def restore(self, orders: list[Order], sequence: int) -> None:
        """Adopt orders loaded from storage after a restart; ids continue after `sequence`."""
        self.sequence = max(self.sequence, sequence)
        for order in orders:
            self.orders[order.client_order_id] = order
            if order.status.is_open:
                self._open[order.client_order_id] = order

    # -- commands -----------------------------------------------------------------------------

    def cancel(self, client_order_id: str) -> None:
        if client_order_id in self._open:
            self.broker.cancel(client_order_id)

    def _next_id(self) -> str:
        self.sequence += 1
        return f"{self.id_prefix}{self.sequence}"

    def _on_request(self, event: OrderRequestGenerated) -> None:
        r = event.request
        order = self._new_order(r.symbol, r.side, r.type, r.qty, r.price, r.role, r.reason)
        order.stop_loss, order.take_profit = r.stop_loss, r.take_profit
        self._send(order)

    def _new_order(
        self,
        symbol: str,
        side: Side,
        order_type: OrderType,
        qty: Decimal,
        price: Decimal | None,
        role: OrderRole,
        reason: str,
        parent_id: str | None = None,
    ) -> Order:
        now = self.clock.now_ms()
        return Order(
            client_order_id=self._next_id(),
            symbol=symbol,
            side=side,
            type=order_type,
            qty=qty,
            role=role,
            created_time=now,
            price=price,
            parent_id=parent_id,
            reason=reason,
            status=OrderStatus.SUBMITTED,
            updated_time=now,
        )

    def _send(self, order: Order) -> None:
        self.orders[order.client_order_id] = order
        self._open[order.client_order_id] = order
        self.hub.publish(OrderSubmitted(order))
        self.broker.submit(order)

    # -- broker reports -----------------------------------------------------------------------

    def _on_accepted(self, event: OrderAccepted) -> None:
        order = self._open.get(event.client_order_id)
        if order is not None and order.status is OrderStatus.SUBMITTED:
            order.status = OrderStatus.ACCEPTED
            order.venue_order_id = event.venue_order_id
            order.updated_time = event.time

    def _on_filled(self, event: OrderFilled) -> None:
        fill = event.fill
        order = self._open.get(fill.client_order_id)
        if order is None:
            log.warning("fill for an order that is not open; ignored", fill=str(fill))
            return
        new_filled = order.filled_qty + fill.qty
        order.avg_fill_price = (
            order.avg_fill_price * order.filled_qty + fill.price * fill.qty
        ) / new_filled
        order.filled_qty = new_filled
        order.updated_time = fill.time
        if new_filled < order.qty:
            order.status = OrderStatus.PARTIALLY_FILLED
        else:
            order.status = OrderStatus.FILLED
            del self._open[order.client_order_id]
        self._after_fill(order, fill.qty)

    def _after_fill(self, order: Order, qty: Decimal) -> None:
        if order.role is OrderRole.ENTRY:
            self._protect(order, qty)
        elif order.oco_id is not None and order.status is OrderStatus.FILLED:
            self.cancel(order.oco_id)
        elif order.role is OrderRole.EXIT and order.status is OrderStatus.FILLED:
            for other in self.open_orders(order.symbol):
                if other.role in _PROTECTIVE:
                    self.cancel(other.client_order_id)

    def _protect(self, entry: Order, qty: Decimal) -> None:
        """Place (or, on a partial fill, add to) the stop-loss and take-profit of an entry."""
        legs = (
            (OrderType.STOP, entry.stop_loss, OrderRole.STOP_LOSS),
            (OrderType.LIMIT, entry.take_profit, OrderRole.TAKE_PROFIT),
        )
        children = [
            self._new_order(
                entry.symbol,
                entry.side.opposite,
                kind,
                qty,
                level,
                role,
                entry.reason,
                entry.client_order_id,
            )
            for kind, level, role in legs
            if level is not None
        ]
        if len(children) == 2:
            children[0].oco_id = children[1].client_order_id
            children[1].oco_id = children[0].client_order_id
        for child in children:
            self._send(child)

    def _on_rejected(self, event: OrderRejected) -> None:
        if event.client_order_id is None:
            return
        order = self._open.pop(event.client_order_id, None)
        if order is not None:
            order.status = OrderStatus.REJECTED
            order.updated_time = event.time

    def _on_canceled(self, event: OrderCanceled) -> None:
        order = self._open.pop(event.client_order_id, None)
        if order is not None:
            order.status = OrderStatus.CANCELED
            order.updated_time = event.time
