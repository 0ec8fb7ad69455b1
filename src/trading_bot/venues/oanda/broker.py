"""`OandaBroker`: the execution engine's orders at OANDA, each placed exactly once.

The `Broker` calls never block the hub: `submit` and `cancel` put a command on a bounded queue
and return. `run()` (an asyncio task) carries the commands out one at a time, in order, and
publishes what became of each order: OrderAccepted, OrderRejected (in OANDA's words),
OrderCanceled and OrderFilled. An order whose placement has an unknown outcome is neither
accepted nor rejected: it is looked up again later (with growing waits) until OANDA's answer is
known, and sent again only if OANDA never had it (see `trading`). An order that never reached
OANDA (a network failure before sending, a 429) goes again after a wait.

Fills come from the answer to an order (a MARKET fills at once) and from the transactions
stream (`on_transaction`, fed by `OandaTransactions`): a pending order filling later, and a
trade's stop-loss or take-profit being hit. Each is deduplicated by its ORDER_FILL transaction
id, so none is counted twice. OANDA charges no commission on standard accounts (its cost is the
spread, in the fill price): fees are zero.

How the engine's orders map onto OANDA's (see `trading` for the wire): an entry carries its
`stop_loss` and `take_profit`, which OANDA creates on the trade in the fill's own transaction.
The two exit legs the engine sends once the entry fills (linked by `oco_id`, `parent_id` the
entry) are therefore not placed again: each is bound to the trade's matching dependent order,
accepted under that order's id, filled when OANDA fills it and cancelled when OANDA cancels it
(the other leg, once the trade is closed: OANDA's own one-cancels-other). A leg the trade has no
dependent order for is rejected, which makes the engine close a stop's quantity at market. A
cancel of a leg cancels the dependent order; an EXIT goes as a MARKET order that closes the
trade (OANDA's default position fill reduces the opposite trades first). A dependent order
closes all that is left of its trade, which can be less than its leg (the entry first closed
an opposite trade, or part of the trade was closed by hand): the rest of the leg is cancelled.

After a restart (`reconcile`), the trade of every entry whose legs are not bound yet is looked
up by the entry's client id (`GET trades/@id`): its stop and target are bound to the legs, and
the fills that closed it while the bot was not watching (its `closingTransactionIDs`) go
through `on_transaction`, as the stream would have delivered them; a leg of a closed trade
that did not close it is cancelled, never sent at market.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

import structlog

from trading_bot.core.clock import Clock
from trading_bot.core.events import OrderAccepted, OrderCanceled, OrderFilled, OrderRejected
from trading_bot.core.hub import EventHub
from trading_bot.core.model import ZERO, Fill, Order, OrderRole, OrderStatus, OrderType
from trading_bot.venues.errors import TemporaryError, UnknownOutcome, VenueError
from trading_bot.venues.intent import LATE_ENTRY, Persist, record_intent
from trading_bot.venues.oanda.schemas import StreamTransaction
from trading_bot.venues.oanda.trading import OandaTrading, Outcome, State

log = structlog.get_logger("trading_bot.oanda")

LEG_TYPES = {OrderRole.STOP_LOSS: "STOP_LOSS", OrderRole.TAKE_PROFIT: "TAKE_PROFIT"}
LEG_FILLS = {"STOP_LOSS_ORDER": "STOP_LOSS", "TAKE_PROFIT_ORDER": "TAKE_PROFIT"}  # fill reasons
FILLS_REMEMBERED = 100_000  # fill transaction ids kept to drop repeated fills
ENDED_KEPT = 10_000  # finished orders (and trades) kept to recognise late news about them
PLAIN_FILLS = frozenset({"MARKET_ORDER", "LIMIT_ORDER", "STOP_ORDER"})  # an order filling itself


@dataclass(eq=False)
class _Tracked:
    order: Order
    venue_id: str | None = None
    accepted: bool = False
    done: bool = False
    leg: bool = False  # bound to a trade's dependent order
    late: bool = False  # an entry whose placement a restart interrupted: never sent again


@dataclass
class _Trade:
    """A trade our entry opened, and its dependent orders by type."""

    entry: str
    legs: dict[str, str] = field(default_factory=dict)  # STOP_LOSS / TAKE_PROFIT -> order id
    waiting: dict[str, str] = field(default_factory=dict)  # legs sent before OANDA made them
    closed: bool = False  # as OANDA said after a restart


class OandaBroker:
    def __init__(
        self,
        hub: EventHub,
        clock: Clock,
        trading: OandaTrading,
        *,
        queue_size: int = 1000,
        retry_s: float = 0.5,
        max_retry_s: float = 30.0,
        persist: Persist | None = None,
    ) -> None:
        self._hub = hub
        self._persist = persist
        self._clock = clock
        self._trading = trading
        self._queue: asyncio.Queue[tuple[str, str] | None] = asyncio.Queue(queue_size)
        self._retry_s = retry_s
        self._max_retry_s = max_retry_s
        self._orders: dict[str, _Tracked] = {}
        self._by_venue: dict[str, str] = {}  # OANDA order id -> our client order id
        self._trades: OrderedDict[str, _Trade] = OrderedDict()  # by OANDA trade id
        self._entry_trade: dict[str, str] = {}  # entry client order id -> trade id
        self._leg_orders: set[str] = set()  # OANDA ids of our trades' dependent orders
        self._early: dict[str, StreamTransaction] = {}  # their transactions before the leg came
        self._fills: OrderedDict[str, None] = OrderedDict()
        self._waits: dict[str, float] = {}
        self._ended: OrderedDict[str, None] = OrderedDict()
        self._unconfirmed: list[str] = []  # adopted, placement never confirmed

    # -- Broker -------------------------------------------------------------------------------

    def submit(self, order: Order) -> None:
        self._orders[order.client_order_id] = _Tracked(order)
        self._put("place", order.client_order_id)

    def cancel(self, client_order_id: str) -> None:
        self._put("cancel", client_order_id)

    async def run(self) -> None:
        """Carry the commands out, one at a time, until cancelled or `stop()`ped."""
        while True:
            command = await self._queue.get()
            try:
                if command is None:
                    return
                await self._execute(*command)
            finally:
                self._queue.task_done()

    async def join(self) -> None:
        """Return once every command queued so far has been carried out."""
        await self._queue.join()

    def stop(self) -> None:
        """Let `run()` return once the commands already queued are done."""
        self._queue.put_nowait(None)

    def knows(self, client_order_id: str) -> bool:
        return client_order_id in self._orders

    def adopt(self, orders: Iterable[Order]) -> None:
        """Track orders that were open before a restart (from storage); `reconcile()` brings
        them up to date. Those whose placement was never confirmed are looked up, and placed if
        OANDA never had them, except entries (see `venues.intent`)."""
        for order in orders:
            cid = order.client_order_id
            if not order.status.is_open or cid in self._orders:
                continue
            tracked = self._orders[cid] = _Tracked(order, order.venue_order_id)
            tracked.accepted = order.status in (OrderStatus.ACCEPTED, OrderStatus.PARTIALLY_FILLED)
            tracked.leg = tracked.accepted and _is_leg(order)
            tracked.late = not tracked.accepted and order.role is OrderRole.ENTRY
            if order.venue_order_id is not None:
                self._by_venue[order.venue_order_id] = cid
            if not tracked.accepted:
                self._unconfirmed.append(cid)

    async def reconcile(self) -> None:
        """Bring the orders up to date after a restart, booking (once) what happened while the
        bot was down: the adopted orders whose placement was never confirmed are looked up
        (placed if OANDA never had them, unless entries); the trades of entries whose legs are
        not bound yet are looked up, their legs bound and what closed them booked; then every
        order still open here is asked after, in the order the orders were made."""
        unconfirmed, self._unconfirmed = self._unconfirmed, []
        adopted = [self._orders[cid] for cid in unconfirmed if cid in self._orders]
        for tracked in adopted:
            if not _is_leg(tracked.order) and not tracked.done and not tracked.accepted:
                await self._resolve(tracked)
        # legs adopted unconfirmed, and those of entries just found filled
        legs = [t for t in self._orders.values() if _is_leg(t.order) and not t.accepted]
        for entry in dict.fromkeys(str(t.order.parent_id) for t in legs if not t.done):
            trade = self._trades.get(self._entry_trade.get(entry, ""))
            if trade is None or not trade.legs:
                await self._follow_trade(entry)
        for tracked in legs:  # OANDA made them on the entry's trade: bound, never sent
            if tracked.done or tracked.accepted:
                continue
            if str(tracked.order.parent_id) in self._entry_trade:
                self._bind_leg(tracked)
            elif tracked in adopted:  # no market exit on a guess: the units check pauses
                self._canceled(tracked, "its trade is not known after the restart")
        for tracked in list(self._orders.values()):
            if tracked.done or not tracked.accepted:
                continue
            cid = tracked.order.client_order_id
            spec = tracked.venue_id if tracked.leg and tracked.venue_id else f"@{cid}"
            outcome = await self._trading.look_up(spec, cid)
            if outcome is None:
                self._canceled(tracked, "OANDA has no such order")
            elif outcome.state is not State.PENDING:
                self._apply(tracked, outcome)

    async def _execute(self, kind: str, cid: str) -> None:
        tracked = self._orders.get(cid)
        if tracked is None or tracked.done:
            return
        try:
            if kind == "cancel":
                await self._cancel(tracked)
            elif kind == "resolve":
                await self._resolve(tracked)
            elif _is_leg(tracked.order):
                self._bind_leg(tracked)
            else:
                await self._place(tracked)
        except VenueError as exc:  # what the steps above leave: a venue that refuses
            log.error("oanda order command failed", command=kind, order=cid, error=str(exc))
            if kind != "cancel" and not tracked.accepted:
                self._reject(tracked, str(exc))

    # -- the transactions stream ----------------------------------------------------------------

    def on_transaction(self, transaction: StreamTransaction) -> None:
        """A transaction of the account: fills, dependent orders created, cancels."""
        kind, order_id = transaction.type, transaction.order_id
        if kind in ("STOP_LOSS_ORDER", "TAKE_PROFIT_ORDER") and transaction.trade_id:
            trade = self._trades.get(transaction.trade_id)
            if trade is not None:
                self._leg_created(trade, kind.removesuffix("_ORDER"), transaction.id)
            return
        if kind not in ("ORDER_FILL", "ORDER_CANCEL") or order_id is None:
            return
        cid = self._by_venue.get(order_id) or transaction.client_order_id
        tracked = None if cid is None else self._orders.get(cid)
        if tracked is None:
            if order_id in self._leg_orders:  # a leg the engine has not sent yet
                self._early[order_id] = transaction
            return
        if kind == "ORDER_CANCEL":
            if not tracked.done:
                self._canceled(tracked, transaction.reason)
            return
        if transaction.price is None or transaction.units is None:
            return
        if transaction.trade_opened is not None:
            self._opened(tracked.order.client_order_id, transaction.trade_opened.trade_id)
        self._filled(
            tracked, transaction.id, abs(transaction.units), transaction.price, transaction.reason
        )

    # -- commands -----------------------------------------------------------------------------

    async def _place(self, tracked: _Tracked) -> None:
        refusal = await record_intent(self._persist, tracked.order)  # written down first
        if refusal is not None:
            self._reject(tracked, refusal)
            return
        try:
            outcome = await self._trading.place(tracked.order)
        except UnknownOutcome as exc:
            self._later("resolve", tracked, f"fate unknown ({exc})")
            return
        except TemporaryError as exc:  # never reached OANDA, or refused unprocessed (429)
            self._later("place", tracked, f"not sent ({exc})")
            return
        self._apply(tracked, outcome)

    async def _resolve(self, tracked: _Tracked) -> None:
        try:
            outcome = await self._trading.find(tracked.order.client_order_id)
        except TemporaryError as exc:
            self._later("resolve", tracked, f"look-up failed ({exc})")
            return
        if outcome is None and tracked.late:  # from before a restart: its signal is history
            self._canceled(tracked, LATE_ENTRY)
        elif outcome is None:  # OANDA never had it: sending it is safe
            await self._place(tracked)
        else:
            self._apply(tracked, outcome)

    async def _cancel(self, tracked: _Tracked) -> None:
        order = tracked.order
        try:
            outcome = await self._trading.cancel(
                order.client_order_id, tracked.venue_id if tracked.leg else None
            )
        except (UnknownOutcome, TemporaryError) as exc:
            self._later("cancel", tracked, f"cancel failed ({exc})")
            return
        if outcome is None:
            self._canceled(tracked, "OANDA has no such order")
        else:
            self._apply(tracked, outcome)

    async def _follow_trade(self, entry: str) -> None:
        """The trade `entry` opened, as OANDA tells it now (by its id if known, else by the
        entry's client id, which the trade carries): the stop and target it still has, and
        the fills that closed it, or parts of it, while the bot was not watching, handed to
        `on_transaction` in order. The leg that closed it is known from its fill; on a closed
        trade, the other leg has nothing left to do."""
        trade = await self._trading.trade(self._entry_trade.get(entry) or f"@{entry}")
        if trade is None:
            return
        log.info("oanda trade looked up", entry=entry, trade=trade.id, state=trade.state)
        known = self._opened(entry, trade.id)
        known.closed = trade.state == "CLOSED"
        if not known.closed:
            for kind, order in (
                ("STOP_LOSS", trade.stop_loss_order),
                ("TAKE_PROFIT", trade.take_profit_order),
            ):
                if order is not None:
                    self._leg_created(known, kind, order.id)
        for transaction_id in sorted(trade.closing_transaction_ids, key=int):
            fill = await self._trading.transaction(transaction_id)
            leg = LEG_FILLS.get(fill.reason)
            if leg is not None and fill.order_id is not None:
                self._leg_created(known, leg, fill.order_id)
            self.on_transaction(fill)

    def _bind_leg(self, tracked: _Tracked) -> None:
        """An exit leg of an entry that filled: OANDA already keeps it on the trade (or is
        about to: its transaction may still be on the way)."""
        order = tracked.order
        kind = LEG_TYPES[order.role]
        trade_id = self._entry_trade.get(str(order.parent_id))
        trade = None if trade_id is None else self._trades.get(trade_id)
        if trade is not None and trade.closed and kind not in trade.legs:
            self._canceled(tracked, "its trade is closed at OANDA")
            return
        if trade is not None and kind not in trade.legs and self._expects(trade, kind):
            trade.waiting[kind] = order.client_order_id
            return
        venue_id = None if trade is None else trade.legs.get(kind)
        if venue_id is None:
            self._reject(
                tracked,
                f"OANDA keeps no {order.role.value.replace('_', '-')} on the trade of "
                f"{order.parent_id}",
            )
            return
        self._bind(tracked, venue_id)

    def _bind(self, tracked: _Tracked, venue_id: str) -> None:
        tracked.leg, tracked.venue_id = True, venue_id
        self._by_venue[venue_id] = tracked.order.client_order_id
        self._accept(tracked, venue_id)
        early = self._early.pop(venue_id, None)
        if early is not None:
            self.on_transaction(early)

    def _leg_created(self, trade: _Trade, kind: str, venue_id: str) -> None:
        trade.legs[kind] = venue_id
        self._leg_orders.add(venue_id)
        waiting = trade.waiting.pop(kind, None)
        tracked = None if waiting is None else self._orders.get(waiting)
        if tracked is not None and not tracked.done:
            self._bind(tracked, venue_id)

    def _expects(self, trade: _Trade, kind: str) -> bool:
        """Whether the entry asked OANDA for this dependent order."""
        entry = self._orders.get(trade.entry)
        if entry is None:
            return False
        level = entry.order.stop_loss if kind == "STOP_LOSS" else entry.order.take_profit
        return level is not None

    # -- outcomes -----------------------------------------------------------------------------

    def _apply(self, tracked: _Tracked, outcome: Outcome) -> None:
        if outcome.venue_order_id is not None:
            self._by_venue[outcome.venue_order_id] = tracked.order.client_order_id
        if outcome.state is State.PENDING:
            self._accept(tracked, outcome.venue_order_id)
        elif outcome.state is State.FILLED:
            self._accept(tracked, outcome.venue_order_id)
            if outcome.trade_id is not None:
                self._opened(
                    tracked.order.client_order_id,
                    outcome.trade_id,
                    outcome.stop_loss_id,
                    outcome.take_profit_id,
                )
            if outcome.fill_price is not None:
                self._filled(
                    tracked, outcome.fill_id, outcome.filled_qty, outcome.fill_price, outcome.reason
                )
        elif tracked.order.type is OrderType.MARKET and not tracked.accepted:
            self._reject(tracked, f"OANDA cancelled the market order: {outcome.reason}")
        else:
            self._canceled(tracked, outcome.reason)

    def _opened(
        self,
        entry: str,
        trade_id: str,
        stop_loss_id: str | None = None,
        take_profit_id: str | None = None,
    ) -> _Trade:
        """The trade our `entry` opened, with the dependent orders OANDA keeps on it."""
        trade = self._trades.setdefault(trade_id, _Trade(entry))
        self._entry_trade[entry] = trade_id
        if len(self._trades) > ENDED_KEPT:
            _, oldest = self._trades.popitem(last=False)
            self._entry_trade.pop(oldest.entry, None)
            self._leg_orders.difference_update(oldest.legs.values())
        for kind, venue_id in (("STOP_LOSS", stop_loss_id), ("TAKE_PROFIT", take_profit_id)):
            if venue_id is not None:
                self._leg_created(trade, kind, venue_id)
        return trade

    def _accept(self, tracked: _Tracked, venue_id: str | None) -> None:
        if tracked.accepted:
            return
        tracked.accepted, tracked.venue_id = True, venue_id or tracked.venue_id
        self._waits.pop(tracked.order.client_order_id, None)
        self._hub.publish(
            OrderAccepted(tracked.order.client_order_id, self._clock.now_ms(), tracked.venue_id)
        )

    def _filled(
        self,
        tracked: _Tracked,
        fill_id: str | None,
        qty: Decimal,
        price: Decimal,
        reason: str,
    ) -> None:
        if fill_id is not None:
            if fill_id in self._fills:
                return
            self._fills[fill_id] = None
            if len(self._fills) > FILLS_REMEMBERED:
                self._fills.popitem(last=False)
        if not tracked.accepted:
            self._accept(tracked, tracked.venue_id)
        self._end(tracked)
        order = tracked.order
        if order.filled_qty > ZERO:  # OANDA fills an order once: booked before a restart
            qty = order.filled_qty
        else:
            told = reason and reason not in PLAIN_FILLS  # why OANDA filled it, if worth saying
            order_reason = f"{order.reason} ({reason})".strip() if told else order.reason
            self._hub.publish(
                OrderFilled(
                    Fill(
                        order.client_order_id,
                        order.symbol,
                        order.side,
                        qty,
                        price,
                        ZERO,
                        self._clock.now_ms(),
                        order.role,
                        order_reason,
                    )
                )
            )
        if qty < order.qty:  # it closed all there was (its trade; for an exit, the position)
            if tracked.leg:
                self._canceled(tracked, f"its trade at OANDA held {qty:f} units, all closed by it")
            elif order.role is OrderRole.EXIT:
                self._canceled(tracked, f"the position at OANDA held {qty:f} units, all closed")

    def _reject(self, tracked: _Tracked, reason: str) -> None:
        self._end(tracked)
        order = tracked.order
        log.warning("oanda order rejected", order=order.client_order_id, reason=reason)
        self._hub.publish(
            OrderRejected(order.symbol, reason, self._clock.now_ms(), order.client_order_id)
        )

    def _canceled(self, tracked: _Tracked, reason: str) -> None:
        self._end(tracked)
        log.info("oanda order cancelled", order=tracked.order.client_order_id, reason=reason)
        self._hub.publish(
            OrderCanceled(tracked.order.client_order_id, reason, self._clock.now_ms())
        )

    def _end(self, tracked: _Tracked) -> None:
        """Nothing more happens to this order; the oldest ended ones are forgotten."""
        tracked.done = True
        self._waits.pop(tracked.order.client_order_id, None)
        self._ended[tracked.order.client_order_id] = None
        while len(self._ended) > ENDED_KEPT:
            cid, _ = self._ended.popitem(last=False)
            old = self._orders.pop(cid, None)
            if old is not None and old.venue_id is not None:
                self._by_venue.pop(old.venue_id, None)

    # -- queue ----------------------------------------------------------------------------------

    def _put(self, kind: str, cid: str) -> None:
        try:
            self._queue.put_nowait((kind, cid))
        except asyncio.QueueFull:
            tracked = self._orders.get(cid)
            if tracked is not None and kind == "place":
                self._reject(tracked, "the OANDA broker's queue is full")
            else:
                log.error("oanda broker queue full; command dropped", command=kind, order=cid)

    def _later(self, kind: str, tracked: _Tracked, why: str) -> None:
        """Try `kind` again after a growing wait."""
        cid = tracked.order.client_order_id
        wait = self._waits[cid] = min(
            self._max_retry_s, self._waits.get(cid, self._retry_s / 2) * 2
        )
        log.warning("oanda order retried later", order=cid, command=kind, seconds=wait, why=why)
        asyncio.get_running_loop().call_later(wait, self._put, kind, cid)


def _is_leg(order: Order) -> bool:
    """An exit leg the engine sent for a filled entry: a dependent order of its trade."""
    return order.role in LEG_TYPES and order.parent_id is not None
