"""`BinanceBroker`: the execution engine's orders on Binance spot, each placed exactly once.

The `Broker` calls never block the hub: `submit` and `cancel` put a command on a bounded queue
and return. `run()` (an asyncio task) carries the commands out one at a time, in order, and
publishes what became of each order: OrderAccepted, OrderRejected (in Binance's words),
OrderCanceled and OrderFilled. An order whose placement has an unknown outcome is neither
accepted nor rejected: it is looked up again later (with growing waits) until Binance's answer
is known, and sent again only if Binance never had it (see `trading`). An order refused by a
rate limit (429/418) was not processed: it goes again once `Retry-After` has passed; an entry
only if that is within `max_entry_delay_s`, else it is rejected. Every order is written down
before it first leaves (`persist`, see `venues.intent`).

Fills come from three places, each deduplicated by Binance's trade id, so none is lost or
counted twice: the answer to a new order (a market order fills at once), the user data stream
(`on_execution_report`), and `reconcile()`, which asks Binance about every unfinished order
and its trades; run it at start and after each user data (re)connection (`BinanceUserData`
does). A fill's `fee` is in the quote asset. A commission paid in the base asset (a buy's)
leaves the account less than the order bought: the fill's `fee_qty` says how much less, rounded
up to the lot step, so that the position, and the stop and target that protect it, hold exactly
what can be sold; the kept part is valued at the fill price. A commission in a third asset (BNB)
is not counted, and a warning says so.

How our orders map to Binance's:
- MARKET -> MARKET; LIMIT -> LIMIT, good till cancelled;
- STOP -> STOP_LOSS_LIMIT: Binance spot has no stop-market order. The trigger (`stopPrice`) is
  the order's price, and the limit lies `stop_limit_ticks` ticks beyond it (below for a sell,
  above for a buy): how far the fill may slip before the order rests unfilled instead;
- a stop-loss and a take-profit linked by `oco_id` (the bracket the engine places when an entry
  fills) -> one OCO, the stop as STOP_LOSS_LIMIT and the target as LIMIT_MAKER: on spot each
  would otherwise lock the whole position, and Binance would refuse the second for lack of
  balance. `use_oco=False` sends them as two orders.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

import structlog

from trading_bot.core.clock import Clock
from trading_bot.core.events import OrderAccepted, OrderCanceled, OrderFilled, OrderRejected
from trading_bot.core.hub import EventHub
from trading_bot.core.model import (
    ZERO,
    Fill,
    Instrument,
    Order,
    OrderRole,
    OrderStatus,
    OrderType,
    Side,
)
from trading_bot.venues.binance.markets import Markets
from trading_bot.venues.binance.rest import binance_message
from trading_bot.venues.binance.schemas import AccountTrade, ExecutionReport, VenueOrder
from trading_bot.venues.binance.trading import (
    ENDED_UNFILLED,
    BinanceTrading,
    OcoSpec,
    OrderSpec,
    VenueOrderType,
)
from trading_bot.venues.errors import RateLimited, UnknownOutcome, VenueError
from trading_bot.venues.intent import LATE_ENTRY, Persist, record_intent

log = structlog.get_logger("trading_bot.binance")

TRADES_REMEMBERED = 100_000  # trade ids kept to drop repeated fills
ENDED_KEPT = 10_000  # finished orders kept to recognise late reports about them


@dataclass(frozen=True, slots=True)
class _Place:
    client_order_id: str


@dataclass(frozen=True, slots=True)
class _PlacePair:
    stop_id: str
    target_id: str


@dataclass(frozen=True, slots=True)
class _Cancel:
    client_order_id: str


@dataclass(frozen=True, slots=True)
class _Resolve:
    """Orders from before a restart whose placement was never confirmed: look them all up at
    once (one recvWindow's wait for all, not one each), then follow up, drop or place each."""

    client_order_ids: tuple[str, ...]


_Command = _Place | _PlacePair | _Cancel | _Resolve | None  # None: stop


@dataclass(slots=True)
class _Tracked:
    order: Order
    pair: str | None = None  # the other order of its OCO, when both went as one
    venue_id: int | None = None
    accepted: bool = False
    ended: bool = False  # rejected, cancelled, expired, or filled completely
    filled: Decimal = ZERO
    booked: Decimal = ZERO  # filled before it was adopted (after a restart)
    unresolved: bool = False  # the placement's outcome is unknown: look it up again
    late: bool = False  # an entry whose placement a restart interrupted: look up, never send
    retries: int = 0


class BinanceBroker:
    """Places the engine's orders through `trading`; publishes their fate on `hub`."""

    def __init__(
        self,
        hub: EventHub,
        clock: Clock,
        trading: BinanceTrading,
        markets: Markets,
        *,
        stop_limit_ticks: int = 20,
        use_oco: bool = True,
        queue_size: int = 1000,
        retry_min_s: float = 1.0,
        retry_max_s: float = 60.0,
        max_entry_delay_s: float = 120.0,
        persist: Persist | None = None,
    ) -> None:
        if stop_limit_ticks < 0:
            raise ValueError("stop_limit_ticks cannot be negative")
        self.hub = hub
        self.clock = clock
        self.trading = trading
        self.markets = markets
        self.stop_limit_ticks = stop_limit_ticks
        self.use_oco = use_oco
        self.retry_min_s = retry_min_s
        self.retry_max_s = retry_max_s
        self.max_entry_delay_s = max_entry_delay_s
        self._persist = persist
        self._unconfirmed: tuple[str, ...] = ()  # adopted, placement never confirmed
        self._queue: asyncio.Queue[_Command] = asyncio.Queue(queue_size)
        self._orders: OrderedDict[str, _Tracked] = OrderedDict()
        self._held: dict[str, _Tracked] = {}  # a bracket leg waiting for its other leg
        self._trades: OrderedDict[tuple[str, int], None] = OrderedDict()
        self._timers: set[asyncio.TimerHandle] = set()
        self._uncounted_fee_assets: set[str] = set()
        # observations
        self.failures = 0
        self.duplicate_fills = 0
        self.foreign_reports = 0  # reports about orders this broker did not place
        self.reconciles = 0

    # -- Broker interface ---------------------------------------------------------------------

    def submit(self, order: Order) -> None:
        cid = order.client_order_id
        if cid in self._orders:
            log.warning("order submitted twice; the second is ignored", order=cid)
            return
        tracked = self._orders[cid] = _Tracked(order)
        partner = self._held.pop(order.oco_id, None) if order.oco_id else None
        if partner is not None:
            stop, target = (
                (partner, tracked) if partner.order.type is OrderType.STOP else (tracked, partner)
            )
            if _pairable(stop.order, target.order):
                stop.pair, target.pair = target.order.client_order_id, stop.order.client_order_id
                self._put(_PlacePair(stop.order.client_order_id, target.order.client_order_id))
                return
        elif self.use_oco and order.oco_id is not None:
            self._held[cid] = tracked  # its other leg comes next, in the same dispatch
        self._put(_Place(cid))

    def cancel(self, client_order_id: str) -> None:
        self._put(_Cancel(client_order_id))

    # -- lifecycle ----------------------------------------------------------------------------

    async def run(self) -> None:
        """Carry out the commands until `stop()`; a failing command is logged and counted."""
        while True:
            command = await self._queue.get()
            try:
                if command is None:
                    return
                await self._execute(command)
            except Exception as exc:  # fail loud, keep running
                self.failures += 1
                log.error("binance broker command failed", command=repr(command), exc_info=exc)
            finally:
                self._queue.task_done()

    async def join(self) -> None:
        """Return once every command queued so far has been carried out."""
        await self._queue.join()

    def stop(self) -> None:
        """Let `run()` return once the commands already queued are done."""
        for timer in self._timers:
            timer.cancel()
        self._timers.clear()
        self._queue.put_nowait(None)

    def adopt(self, orders: Iterable[Order]) -> None:
        """Track orders that were open before a restart (from storage). Accepted ones are
        brought up to date by the next `reconcile()`; those whose placement was never
        confirmed are looked up, and placed if Binance never had them, except entries: their
        signal is history by now, so they are dropped instead."""
        adopted: list[_Tracked] = []
        for order in orders:
            if not order.status.is_open or order.client_order_id in self._orders:
                continue
            tracked = _Tracked(order, filled=order.filled_qty, booked=order.filled_qty)
            if order.venue_order_id is not None and order.venue_order_id.isdigit():
                tracked.venue_id = int(order.venue_order_id)
            tracked.accepted = order.status in (OrderStatus.ACCEPTED, OrderStatus.PARTIALLY_FILLED)
            tracked.unresolved = not tracked.accepted
            tracked.late = tracked.unresolved and order.role is OrderRole.ENTRY
            self._orders[order.client_order_id] = tracked
            adopted.append(tracked)
        for tracked in adopted:  # an OCO's two orders: link them
            other = self._orders.get(tracked.order.oco_id or "")
            if other is None or other not in adopted or tracked.pair is not None:
                continue
            stop, target = (
                (tracked, other) if tracked.order.type is OrderType.STOP else (other, tracked)
            )
            if _pairable(stop.order, target.order):
                stop.pair, target.pair = target.order.client_order_id, stop.order.client_order_id
                if stop.accepted or target.accepted:  # Binance creates both or neither
                    for leg in (stop, target):
                        leg.accepted, leg.unresolved = True, False
        self._unconfirmed += tuple(t.order.client_order_id for t in adopted if t.unresolved)

    def knows(self, client_order_id: str) -> bool:
        """Whether this broker placed or adopted the order (finished ones are forgotten in time)."""
        return client_order_id in self._orders

    # -- what Binance reports -----------------------------------------------------------------

    def on_execution_report(self, report: ExecutionReport) -> None:
        """An order update from the user data stream (call on the event loop's thread)."""
        tracked = self._orders.get(report.our_id)
        if tracked is None:
            self.foreign_reports += 1
            return
        kind = report.execution_type
        if kind == "NEW":
            self._accept(tracked, report.order_id)
        elif kind == "TRADE":
            self._fill(
                tracked,
                report.trade_id,
                report.last_price,
                report.last_qty,
                report.commission,
                report.commission_asset or "",
                report.transaction_time,
                report.order_id,
            )
        elif kind == "REJECTED":
            self._end(tracked, "REJECTED", report.reject_reason)
        elif report.status in ENDED_UNFILLED:  # CANCELED, EXPIRED, TRADE_PREVENTION
            reason = (
                "canceled"
                if kind == "CANCELED"
                else self._expired_reason(tracked, report.expiry_reason)
            )
            self._end(tracked, report.status, reason)

    async def reconcile(self) -> None:
        """Settle the adopted orders whose placement was never confirmed, then ask Binance
        about every accepted order not finished yet: publish the fills missed (by trade id),
        and the cancels and expiries. VenueError if Binance cannot be asked."""
        if self._unconfirmed:
            unconfirmed, self._unconfirmed = self._unconfirmed, ()
            await self._resolve(_Resolve(unconfirmed))
        by_symbol: dict[str, list[_Tracked]] = {}
        for tracked in self._orders.values():
            if tracked.accepted and not tracked.ended:
                by_symbol.setdefault(tracked.order.symbol, []).append(tracked)
        for symbol, orders in by_symbol.items():
            open_now = {o.our_id: o for o in await self.trading.open_orders(symbol)}
            for tracked in orders:
                if tracked.ended:
                    continue
                cid = tracked.order.client_order_id
                state = open_now.get(cid) or await self.trading.query_order(symbol, cid)
                if state is None:
                    log.error("binance no longer knows an accepted order", order=cid)
                    continue
                await self._sync(tracked, state)
        self.reconciles += 1

    # -- commands -----------------------------------------------------------------------------

    def _put(self, command: _Command) -> None:
        try:
            self._queue.put_nowait(command)
        except asyncio.QueueFull:
            self.failures += 1
            if isinstance(command, _Cancel):
                log.error("binance broker queue full; cancel dropped", command=repr(command))
                return
            ids = (
                [command.client_order_id]
                if isinstance(command, _Place)
                else [command.stop_id, command.target_id]
                if isinstance(command, _PlacePair)
                else []
            )
            for cid in ids:
                tracked = self._orders.get(cid)
                if tracked is not None and not tracked.unresolved:
                    self._end(tracked, "REJECTED", "the Binance broker's queue is full")

    async def _execute(self, command: _Place | _PlacePair | _Cancel | _Resolve) -> None:
        if isinstance(command, _Resolve):
            await self._resolve(command)
        elif isinstance(command, _Cancel):
            await self._cancel(command.client_order_id)
        elif isinstance(command, _PlacePair):
            await self._place_pair(command)
        else:
            await self._place(command)

    async def _place(self, command: _Place) -> None:
        tracked = self._orders.get(command.client_order_id)
        if tracked is None or tracked.pair is not None or tracked.accepted or tracked.ended:
            return
        self._held.pop(command.client_order_id, None)
        try:
            spec = self._spec(tracked.order)
        except ValueError as exc:
            self._end(tracked, "REJECTED", str(exc))
            return
        if not tracked.unresolved and not await self._recorded(tracked):
            return
        try:
            state = await self.trading.place(spec, resume=tracked.unresolved)
        except UnknownOutcome as exc:
            self._retry_later(command, [tracked], str(exc))
            return
        except RateLimited as exc:
            self._after_rate_limit(command, [tracked], exc)
            return
        except VenueError as exc:
            self._end(tracked, "REJECTED", binance_message(exc))
            return
        await self._sync(tracked, state)

    async def _place_pair(self, command: _PlacePair) -> None:
        stop, target = self._orders[command.stop_id], self._orders[command.target_id]
        if stop.accepted or stop.ended or target.accepted or target.ended:
            return
        try:
            spec = self._oco_spec(stop.order, target.order)
        except ValueError as exc:
            self._end(stop, "REJECTED", str(exc))
            self._end(target, "REJECTED", str(exc))
            return
        if not stop.unresolved and not (
            await self._recorded(stop) and await self._recorded(target)
        ):
            return
        try:
            stop_state, target_state = await self.trading.place_oco(spec, resume=stop.unresolved)
        except UnknownOutcome as exc:
            self._retry_later(command, [stop, target], str(exc))
            return
        except RateLimited as exc:
            self._after_rate_limit(command, [stop, target], exc)
            return
        except VenueError as exc:
            self._end(stop, "REJECTED", binance_message(exc))
            self._end(target, "REJECTED", binance_message(exc))
            return
        await self._sync(stop, stop_state)
        await self._sync(target, target_state)

    async def _cancel(self, client_order_id: str) -> None:
        tracked = self._orders.get(client_order_id)
        if tracked is None:
            log.warning("cancel of an order this broker does not know", order=client_order_id)
            return
        if tracked.ended:
            return
        symbol = tracked.order.symbol
        if not tracked.accepted:  # its placement's fate is unknown: learn it, never send it
            try:
                found = await self.trading.find(
                    symbol, client_order_id, self.trading.rest.server_now_ms()
                )
            except UnknownOutcome as exc:
                self._retry_later(_Cancel(client_order_id), [tracked], str(exc))
                return
            if found is None:
                for leg in self._with_pair(tracked):
                    self._end(leg, "CANCELED", "canceled before Binance had it")
                return
            await self._sync(tracked, found)
            if tracked.ended:
                return
        try:
            state = await self.trading.cancel(symbol, client_order_id)
        except UnknownOutcome as exc:
            self._retry_later(_Cancel(client_order_id), [tracked], str(exc))
            return
        except VenueError as exc:
            log.error("binance refused a cancel", order=client_order_id, reason=str(exc))
            return
        if state is None:
            log.error("binance has no such order to cancel", order=client_order_id)
            self._end(tracked, "CANCELED", "Binance has no such order")
            return
        await self._sync(tracked, state)
        other = self._orders.get(tracked.pair or "")
        if other is not None and not other.ended:  # cancelling one leg cancels the OCO
            other_state = await self.trading.query_order(symbol, other.order.client_order_id)
            if other_state is not None:
                await self._sync(other, other_state)

    async def _recorded(self, tracked: _Tracked) -> bool:
        """Written down before it leaves (see `venues.intent`); False: refused, not sent."""
        refusal = await record_intent(self._persist, tracked.order)
        if refusal is not None:
            self._end(tracked, "REJECTED", refusal)
        return refusal is None

    async def _resolve(self, command: _Resolve) -> None:
        sent_by = self._sent_by()  # before the restart, every lost request had gone out

        async def look_up(cid: str) -> VenueOrder | None | UnknownOutcome:
            order = self._orders[cid].order
            try:
                return await self.trading.find(order.symbol, cid, sent_by)
            except UnknownOutcome as exc:
                return exc

        ids = [
            cid
            for cid in command.client_order_ids
            if cid in self._orders and not self._orders[cid].ended
        ]
        found = dict(zip(ids, await asyncio.gather(*map(look_up, ids)), strict=True))
        for cid, state in found.items():
            tracked = self._orders[cid]
            if isinstance(state, UnknownOutcome):
                self._retry_later(_Resolve((cid,)), [tracked], str(state))
            elif state is not None:
                await self._sync(tracked, state)
            elif tracked.late:
                self._end(tracked, "CANCELED", LATE_ENTRY)
            elif tracked.pair is None:
                tracked.unresolved = False  # Binance certainly never had it
                self._put(_Place(cid))
            elif tracked.order.type is OrderType.STOP and found.get(tracked.pair) is None:
                for leg in self._with_pair(tracked):  # an OCO: Binance made both or neither
                    leg.unresolved = False
                self._put(_PlacePair(cid, tracked.pair))

    def _sent_by(self) -> int:
        """Binance's time now: a request from before the restart was sent by then."""
        return self.trading.rest.server_now_ms()

    def _retry_later(self, command: _Command, orders: list[_Tracked], error: str) -> None:
        """Try `command` again after a growing wait: its outcome is not known yet."""
        first = orders[0]
        first.retries += 1
        delay = min(self.retry_max_s, self.retry_min_s * 2 ** (first.retries - 1))
        for tracked in orders:
            tracked.unresolved = not tracked.accepted
        log.warning(
            "binance outcome unknown; trying again later",
            command=repr(command),
            seconds=delay,
            error=error,
        )
        self._put_later(command, delay)

    def _after_rate_limit(
        self, command: _Command, orders: list[_Tracked], exc: RateLimited
    ) -> None:
        """Binance refused the order unprocessed: send it once the limit has passed. A stop, a
        target or an exit always goes (a position must not stay unprotected); an entry only
        when the wait is short enough for its signal to still hold."""
        entry = orders[0].order.role is OrderRole.ENTRY
        if entry and exc.retry_after > self.max_entry_delay_s:
            reason = (
                f"{binance_message(exc)} (Binance's rate limit; {exc.retry_after:.0f} s is too "
                "long a wait for an entry)"
            )
            for tracked in orders:
                self._end(tracked, "REJECTED", reason)
            return
        log.warning(
            "binance rate limit: the order goes once it has passed",
            command=repr(command),
            seconds=exc.retry_after,
            banned=exc.banned,
        )
        self._put_later(command, exc.retry_after)

    def _put_later(self, command: _Command, delay: float) -> None:
        loop = asyncio.get_running_loop()
        timer: asyncio.TimerHandle | None = None

        def fire() -> None:
            if timer is not None:
                self._timers.discard(timer)
            self._put(command)

        timer = loop.call_later(delay, fire)
        self._timers.add(timer)

    # -- bringing our view in line with Binance's ---------------------------------------------

    async def _sync(self, tracked: _Tracked, state: VenueOrder) -> None:
        """Publish what `state` (Binance's view of the order) shows that we have not."""
        self._accept(tracked, state.order_id)
        time = state.transact_time or state.update_time or self.clock.now_ms()
        for part in state.fills:
            self._fill(
                tracked,
                part.trade_id,
                part.price,
                part.qty,
                part.commission,
                part.commission_asset,
                time,
                state.order_id,
            )
        if state.executed_qty > tracked.filled:
            trades = await self.trading.order_trades(tracked.order.symbol, state.order_id)
            self._fills_from_trades(tracked, trades)
        if state.status in ENDED_UNFILLED:
            reason = "canceled" if state.status == "CANCELED" else self._expired_reason(tracked)
            self._end(tracked, state.status, reason)

    def _fills_from_trades(self, tracked: _Tracked, trades: list[AccountTrade]) -> None:
        cumulative = ZERO
        for trade in sorted(trades, key=lambda t: t.id):
            cumulative += trade.qty
            if cumulative <= tracked.booked:  # booked before a restart
                self._remember((tracked.order.symbol, trade.id))
                continue
            self._fill(
                tracked,
                trade.id,
                trade.price,
                trade.qty,
                trade.commission,
                trade.commission_asset,
                trade.time,
                trade.order_id,
            )

    def _accept(self, tracked: _Tracked, venue_id: int) -> None:
        tracked.unresolved = False
        if tracked.accepted:
            return
        tracked.accepted, tracked.venue_id = True, venue_id
        cid = tracked.order.client_order_id
        self.hub.publish(OrderAccepted(cid, self.clock.now_ms(), str(venue_id)))

    def _fill(
        self,
        tracked: _Tracked,
        trade_id: int,
        price: Decimal,
        qty: Decimal,
        commission: Decimal,
        commission_asset: str,
        time: int,
        venue_id: int,
    ) -> None:
        order = tracked.order
        key = (order.symbol, trade_id)
        if key in self._trades:
            self.duplicate_fills += 1
            return
        self._remember(key)
        self._accept(tracked, venue_id)
        tracked.filled += qty
        if tracked.filled >= order.qty:
            tracked.ended = True
        kept = self._kept(order.symbol, qty, commission, commission_asset)
        fee = kept * price if kept else self._fee(order.symbol, price, commission, commission_asset)
        fill = Fill(
            order.client_order_id,
            order.symbol,
            order.side,
            qty,
            price,
            fee,
            time,
            order.role,
            order.reason,
            kept,
        )
        self.hub.publish(OrderFilled(fill))
        self._prune()

    def _end(self, tracked: _Tracked, status: str, reason: str) -> None:
        if tracked.ended:
            return
        tracked.ended = True
        tracked.unresolved = False
        order, now = tracked.order, self.clock.now_ms()
        if status == "REJECTED":
            self.hub.publish(OrderRejected(order.symbol, reason, now, order.client_order_id))
        else:
            self.hub.publish(OrderCanceled(order.client_order_id, reason, now))
        self._prune()

    def _expired_reason(self, tracked: _Tracked, why: str = "") -> str:
        other = self._orders.get(tracked.pair or "")
        if other is not None and other.filled > ZERO:
            return "expired: the other order of its OCO filled"
        return "expired at Binance" + (f" ({why})" if why and why != "NONE" else "")

    def _with_pair(self, tracked: _Tracked) -> list[_Tracked]:
        other = self._orders.get(tracked.pair or "")
        return [tracked] if other is None else [tracked, other]

    def _remember(self, key: tuple[str, int]) -> None:
        self._trades[key] = None
        if len(self._trades) > TRADES_REMEMBERED:
            self._trades.popitem(last=False)

    def _prune(self) -> None:
        """Forget the oldest finished orders beyond `ENDED_KEPT`."""
        excess = len(self._orders) - ENDED_KEPT
        if excess <= 0:
            return
        for cid in [cid for cid, t in self._orders.items() if t.ended][:excess]:
            del self._orders[cid]

    def _kept(self, symbol: str, qty: Decimal, commission: Decimal, asset: str) -> Decimal:
        """What of a fill's `qty` the position never gets: a commission paid in the base asset
        (a buy's), and the rest under one lot step, which could not be sold."""
        if asset != symbol.partition("/")[0]:
            return ZERO
        return self.markets.instrument(symbol).kept_by_fee(qty, commission)

    def _fee(self, symbol: str, price: Decimal, commission: Decimal, asset: str) -> Decimal:
        """The commission in the quote asset."""
        base, _, quote = symbol.partition("/")
        if not commission:
            return ZERO
        if asset == quote:
            return commission
        if asset == base:
            return commission * price
        if asset not in self._uncounted_fee_assets:
            self._uncounted_fee_assets.add(asset)
            log.warning(
                "binance commission paid in another asset is not counted in fees",
                asset=asset,
                symbol=symbol,
            )
        return ZERO

    # -- our orders as Binance's --------------------------------------------------------------

    def _spec(self, order: Order) -> OrderSpec:
        """Binance's version of `order`; ValueError says why it cannot be sent."""
        instrument, qty = self._checked(order)
        cid, side = order.client_order_id, order.side
        if order.type is OrderType.MARKET:
            return OrderSpec(order.symbol, side, VenueOrderType.MARKET, qty, cid)
        price = instrument.round_price(_price(order))
        if order.type is OrderType.LIMIT:
            return OrderSpec(order.symbol, side, VenueOrderType.LIMIT, qty, cid, price)
        limit = self._stop_limit(instrument, side, price)
        return OrderSpec(order.symbol, side, VenueOrderType.STOP_LOSS_LIMIT, qty, cid, limit, price)

    def _oco_spec(self, stop: Order, target: Order) -> OcoSpec:
        instrument, qty = self._checked(stop)
        self._checked(target)
        stop_price = instrument.round_price(_price(stop))
        return OcoSpec(
            stop.symbol,
            stop.side,
            qty,
            stop.client_order_id,
            stop_price,
            self._stop_limit(instrument, stop.side, stop_price),
            target.client_order_id,
            instrument.round_price(_price(target)),
        )

    def _checked(self, order: Order) -> tuple[Instrument, Decimal]:
        instrument = self.markets.instrument(order.symbol)
        qty = order.qty
        if instrument.round_qty(qty) != qty:
            raise ValueError(
                f"quantity {qty} is not a multiple of {order.symbol}'s lot step "
                f"{instrument.lot_step}"
            )
        if order.type is not OrderType.MARKET:
            problem = instrument.order_size_problem(qty, _price(order))
            if problem is not None:
                raise ValueError(problem)
        return instrument, qty

    def _stop_limit(self, instrument: Instrument, side: Side, stop: Decimal) -> Decimal:
        offset = instrument.tick_size * self.stop_limit_ticks
        limit = stop - offset if side is Side.SELL else stop + offset
        if limit <= ZERO:
            raise ValueError(
                f"a stop at {stop} leaves no room for a limit {self.stop_limit_ticks} ticks below"
            )
        return limit


def _price(order: Order) -> Decimal:
    if order.price is None or order.price <= ZERO:
        raise ValueError(f"a {order.type} order needs a positive price, got {order.price}")
    return order.price


def _pairable(stop: Order, target: Order) -> bool:
    """Whether two bracket legs can go as one OCO: a stop and a limit, alike in all else."""
    return (
        stop.type is OrderType.STOP
        and target.type is OrderType.LIMIT
        and (stop.symbol, stop.side, stop.qty) == (target.symbol, target.side, target.qty)
    )
