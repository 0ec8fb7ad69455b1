"""The execution engine: owns every order's life, from request to fill, cancel or rejection.

Each order gets its client order id before it leaves, so a venue can be asked about it after a
timeout (idempotence). Stop-loss and take-profit orders attached to an entry are placed when the
entry fills, linked one-cancels-other; an exit cancels them before it goes (on spot they lock
the quantity it sells), and again once it has filled (orders placed meanwhile).

A stop-loss the venue refuses (most often because the price has already passed it, or, at a
live venue, for any reason its message gives) leaves a position without protection: its
quantity is closed at market at once, as the stop itself would have done, and the target is
cancelled.
"""

from __future__ import annotations

from collections import OrderedDict
from decimal import Decimal

import structlog

from trading_bot.core.clock import Clock
from trading_bot.core.events import (
    CandleDataProcessed,
    OrderAccepted,
    OrderCanceled,
    OrderCancelRequested,
    OrderFilled,
    OrderRejected,
    OrderRequestGenerated,
    OrderSubmitted,
)
from trading_bot.core.hub import EventHub, Priority
from trading_bot.core.model import (
    ZERO,
    Order,
    OrderRole,
    OrderStatus,
    OrderType,
    Side,
)
from trading_bot.core.ports import Broker, PortfolioView

log = structlog.get_logger("trading_bot.execution")

_PROTECTIVE = (OrderRole.STOP_LOSS, OrderRole.TAKE_PROFIT)
FINISHED_KEPT = 10_000  # finished orders kept for look-ups; older ones live in storage only


class ExecutionEngine:
    def __init__(
        self,
        hub: EventHub,
        clock: Clock,
        broker: Broker,
        id_prefix: str = "tb-",
        positions: PortfolioView | None = None,
    ) -> None:
        """With `positions`, an exit never sells (or buys back) more than the position that
        other exits under way leave: two exits of one position must not reverse it."""
        self.hub = hub
        self.positions = positions
        self.clock = clock
        self.broker = broker
        self.id_prefix = id_prefix
        self.sequence = 0
        self._open: dict[str, Order] = {}
        self._finished: OrderedDict[str, Order] = OrderedDict()  # the latest, for look-ups
        self._expiring: dict[str, int] = {}
        self._cover: dict[str, Decimal] = {}  # entry -> quantity its restored legs protect
        hub.subscribe(OrderRequestGenerated, self._on_request, Priority.EXECUTION)
        hub.subscribe(OrderCancelRequested, self._on_cancel_requested, Priority.EXECUTION)
        hub.subscribe(CandleDataProcessed, self._expire, Priority.EXECUTION)
        hub.subscribe(OrderAccepted, self._on_accepted, Priority.EXECUTION)
        hub.subscribe(OrderFilled, self._on_filled, Priority.EXECUTION)
        hub.subscribe(OrderRejected, self._on_rejected, Priority.EXECUTION)
        hub.subscribe(OrderCanceled, self._on_canceled, Priority.EXECUTION)

    # -- queries (OrderView) ------------------------------------------------------------------

    def open_orders(self, symbol: str | None = None) -> list[Order]:
        return [o for o in self._open.values() if symbol is None or o.symbol == symbol]

    def get(self, client_order_id: str) -> Order | None:
        """An open order, or one of the last `FINISHED_KEPT` that finished."""
        return self._open.get(client_order_id) or self._finished.get(client_order_id)

    def next_expiry(self) -> int | None:
        """The earliest `expires` among open orders (backtests must not skip that candle)."""
        return min(self._expiring.values(), default=None)

    def restore(self, orders: list[Order], sequence: int) -> None:
        """Adopt open orders loaded from storage after a restart; ids continue after
        `sequence` (and after every id restored).

        An entry still open here whose stop (or target) is open too was filled before the
        restart, but its fill is not booked yet: when the venue reports it again, that fill is
        already protected, and no second bracket may be placed (`_cover`)."""
        self.sequence = max(self.sequence, sequence, *map(self._number, orders))
        for order in orders:
            if order.status.is_open:
                self._track(order)
        for leg in self._open.values():
            entry = self._open.get(leg.parent_id or "")
            if entry is None or entry.role is not OrderRole.ENTRY:
                continue
            counts = leg.role is OrderRole.STOP_LOSS or (
                leg.role is OrderRole.TAKE_PROFIT and entry.stop_loss is None
            )
            if counts:
                self._cover[entry.client_order_id] = (
                    self._cover.get(entry.client_order_id, ZERO) + leg.qty
                )

    def _number(self, order: Order) -> int:
        suffix = order.client_order_id.removeprefix(self.id_prefix)
        return int(suffix) if suffix.isdigit() else 0

    # -- commands -----------------------------------------------------------------------------

    def cancel(self, client_order_id: str) -> None:
        if client_order_id in self._open:
            self.broker.cancel(client_order_id)

    def _on_cancel_requested(self, event: OrderCancelRequested) -> None:
        self.cancel(event.client_order_id)

    def _expire(self, event: CandleDataProcessed) -> None:
        """Cancel orders whose `expires` this candle's close has reached."""
        if not self._expiring:
            return
        close_time = event.candle.close_time
        for client_order_id, expires in list(self._expiring.items()):
            order = self._open.get(client_order_id)
            if expires <= close_time and order is not None and order.symbol == event.candle.symbol:
                self.cancel(client_order_id)

    def _next_id(self) -> str:
        self.sequence += 1
        return f"{self.id_prefix}{self.sequence}"

    def _on_request(self, event: OrderRequestGenerated) -> None:
        r = event.request
        qty = r.qty
        if r.role is OrderRole.EXIT:
            qty = self._exit_qty(r.symbol, r.side, r.qty)
            if qty <= ZERO:
                return
            self._cancel_protection(r.symbol)  # on spot they hold the quantity the exit sells
        order = self._new_order(r.symbol, r.side, r.type, qty, r.price, r.role, r.reason)
        order.stop_loss, order.take_profit, order.expires = r.stop_loss, r.take_profit, r.expires
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

    def _track(self, order: Order) -> None:
        self._open[order.client_order_id] = order
        if order.expires is not None:
            self._expiring[order.client_order_id] = order.expires

    def _finish(self, order: Order, status: OrderStatus, time: int) -> None:
        order.status, order.updated_time = status, time
        del self._open[order.client_order_id]
        self._expiring.pop(order.client_order_id, None)
        self._finished[order.client_order_id] = order
        if len(self._finished) > FINISHED_KEPT:
            self._finished.popitem(last=False)

    def _send(self, order: Order) -> None:
        self._track(order)
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
        if new_filled < order.qty:
            order.status, order.updated_time = OrderStatus.PARTIALLY_FILLED, fill.time
        else:
            self._finish(order, OrderStatus.FILLED, fill.time)
        self._after_fill(order, fill.held_qty)

    def _after_fill(self, order: Order, qty: Decimal) -> None:
        if order.role is OrderRole.ENTRY:
            self._protect(order, qty)
        elif order.oco_id is not None and order.status is OrderStatus.FILLED:
            self.cancel(order.oco_id)
        elif order.role is OrderRole.EXIT and order.status is OrderStatus.FILLED:
            self._cancel_protection(order.symbol)

    def _cancel_protection(self, symbol: str) -> None:
        for other in self.open_orders(symbol):
            if other.role in _PROTECTIVE:
                self.cancel(other.client_order_id)

    def _protect(self, entry: Order, qty: Decimal) -> None:
        """Place (or, on a partial fill, add to) the stop-loss and take-profit of an entry."""
        cover = self._cover.pop(entry.client_order_id, ZERO)
        if cover > ZERO:  # placed before a restart, for this very fill
            if cover > qty:
                self._cover[entry.client_order_id] = cover - qty
            log.info("entry fill already protected", order=entry.client_order_id)
            qty -= min(cover, qty)
            if qty <= ZERO:
                return
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
        order = self._open.get(event.client_order_id or "")
        if order is None:
            return
        self._finish(order, OrderStatus.REJECTED, event.time)
        if order.role is OrderRole.STOP_LOSS:
            self._exit_unprotected(order, event.reason)

    def _exit_unprotected(self, stop: Order, why: str) -> None:
        if stop.oco_id is not None and stop.oco_id in self._open:
            self.cancel(stop.oco_id)
        qty = self._exit_qty(stop.symbol, stop.side, stop.qty - stop.filled_qty)
        if qty <= ZERO:
            return
        log.warning("stop-loss refused: closing its quantity at market", order=stop.client_order_id)
        exit_order = self._new_order(
            stop.symbol,
            stop.side,
            OrderType.MARKET,
            qty,
            None,
            OrderRole.EXIT,
            f"stop-loss refused ({why}): closed at market",
            stop.parent_id,
        )
        self._send(exit_order)

    def _exit_qty(self, symbol: str, side: Side, wanted: Decimal) -> Decimal:
        """`wanted`, at most what the position holds on the side this exit closes, less what
        exits under way close already; zero (logged) when nothing is left to close."""
        if self.positions is None:
            return wanted
        position = self.positions.position(symbol)
        held = ZERO if position is None else position.qty
        closable = held if side is Side.SELL else -held
        under_way = sum(
            (o.remaining_qty for o in self._open.values()
             if o.symbol == symbol and o.role is OrderRole.EXIT and o.side is side),
            ZERO,
        )  # fmt: skip
        qty = min(wanted, closable - under_way)
        if qty <= ZERO:
            log.info(
                "exit not sent: nothing left to close",
                symbol=symbol,
                side=side.value,
                position=str(held),
                exits_under_way=str(under_way),
            )
        return qty

    def _on_canceled(self, event: OrderCanceled) -> None:
        order = self._open.get(event.client_order_id)
        if order is not None:
            self._finish(order, OrderStatus.CANCELED, event.time)
