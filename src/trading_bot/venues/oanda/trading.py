"""OANDA v20 trading over REST: orders placed exactly once under our client order ids.

How our orders map onto OANDA's:

- An order goes as MARKET (fill or kill), LIMIT or STOP (good till cancelled) with signed
  integer-step `units` (a sell is negative), rounded down to the instrument's lot step, prices
  on its tick grid. `clientExtensions.id` and `tradeClientExtensions.id` are our client order
  id, so the order and the trade it opens can both be found by it (`@id`).
- An entry's `stop_loss` and `take_profit` go with it as `stopLossOnFill` and
  `takeProfitOnFill`: OANDA creates both on the trade in the same transaction as the fill, so a
  filled position is never unprotected, and it cancels the survivor when either one closes the
  trade. That is the one-cancels-other pair our ExecutionEngine links with `oco_id`; its exit
  legs, sent once the entry fills, are already live at OANDA as the trade's dependent orders
  (`Outcome.stop_loss_id` / `take_profit_id` name them), and must not be sent again.
- Closing a position is `PUT positions/{instrument}/close` (all of its long or short units).

Exactly once (`place`): an order whose answer is lost (a timeout, a dropped connection, a 5xx)
may or may not exist. It is looked up by its client order id (`GET orders/@id`) before anything
else, and sent again only when OANDA says it does not exist; sent again, it keeps its client
order id, which OANDA refuses to reuse, a second guard.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, Decimal
from enum import StrEnum
from typing import Any

import structlog

from trading_bot.core.model import Instrument, Order, OrderRole, OrderType, Side
from trading_bot.venues.errors import InvalidOrder, InvalidRequest, TemporaryError, UnknownOutcome
from trading_bot.venues.oanda.instruments import venue_name
from trading_bot.venues.oanda.rest import OandaRest, account_path, decode_reply
from trading_bot.venues.oanda.schemas import (
    AccountSummary,
    CancelReply,
    FillReply,
    FillTransaction,
    OrderCreated,
    OrderReply,
    OrdersReply,
    PositionClosed,
    PositionsReply,
    StreamTransaction,
    TradeReply,
    TradesReply,
    TransactionReply,
    VenueOrder,
    VenueTrade,
)

log = structlog.get_logger("trading_bot.oanda")

NOT_FOUND = 404
DUPLICATE_ID = "CLIENT_ORDER_ID_ALREADY_EXISTS"
_VENUE_TYPE = {OrderType.MARKET: "MARKET", OrderType.LIMIT: "LIMIT", OrderType.STOP: "STOP"}


class State(StrEnum):
    PENDING = "pending"  # resting at OANDA (LIMIT, STOP)
    FILLED = "filled"
    CANCELED = "canceled"  # by OANDA (a MARKET it could not fill: `reason`) or by us


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of one of our orders at OANDA. `filled_qty` is unsigned, in units."""

    client_order_id: str
    state: State
    venue_order_id: str | None = None
    filled_qty: Decimal = Decimal(0)
    fill_price: Decimal | None = None
    reason: str = ""
    trade_id: str | None = None
    stop_loss_id: str | None = None
    take_profit_id: str | None = None
    fill_id: str | None = None  # the ORDER_FILL transaction


def units_text(instrument: Instrument, side: Side, qty: Decimal) -> str:
    """Signed units on the lot grid, rounded down: never more than was sized."""
    units = (qty / instrument.lot_step).to_integral_value(ROUND_DOWN) * instrument.lot_step
    if units <= 0:
        raise InvalidOrder(f"{qty} units round to nothing at lot step {instrument.lot_step}")
    return _plain(units if side is Side.BUY else -units)


def price_text(instrument: Instrument, price: Decimal) -> str:
    """A price on the instrument's tick grid (the nearest tick)."""
    if price <= 0:
        raise InvalidOrder(f"price {price} is not positive")
    ticks = (price / instrument.tick_size).to_integral_value(ROUND_HALF_EVEN)
    return _plain(ticks * instrument.tick_size)


def _plain(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "0") else text


class OandaTrading:
    """Orders, trades and positions of one account. `instrument(symbol)` gives the rules that
    prices and units are rounded to (the market's `prepare` loads them)."""

    def __init__(self, rest: OandaRest, instrument: Callable[[str], Instrument]) -> None:
        self.rest = rest
        self._instrument = instrument
        self._orders = account_path(rest.settings, "orders")

    def order_body(self, order: Order) -> dict[str, Any]:
        """The `POST orders` body of one of our orders."""
        rules = self._instrument(order.symbol)
        spec: dict[str, Any] = {
            "type": _VENUE_TYPE[order.type],
            "instrument": venue_name(order.symbol),
            "units": units_text(rules, order.side, order.qty),
            # an exit only ever reduces: one that arrives after the trade's own stop or
            # target closed it is cancelled by OANDA instead of opening the other way
            "positionFill": "DEFAULT" if order.role is OrderRole.ENTRY else "REDUCE_ONLY",
            "clientExtensions": {"id": order.client_order_id},
            "tradeClientExtensions": {"id": order.client_order_id},
        }
        if order.type is OrderType.MARKET:
            spec["timeInForce"] = "FOK"
        else:
            if order.price is None:
                raise InvalidOrder(f"a {order.type} order needs a price")
            spec["price"] = price_text(rules, order.price)
            spec["timeInForce"] = "GTC"
        if order.stop_loss is not None:
            spec["stopLossOnFill"] = {"price": price_text(rules, order.stop_loss)}
        if order.take_profit is not None:
            spec["takeProfitOnFill"] = {"price": price_text(rules, order.take_profit)}
        return {"order": spec}

    # -- orders -------------------------------------------------------------------------------

    async def place(self, order: Order) -> Outcome:
        """Place `order` exactly once. InvalidOrder when OANDA rejects it; UnknownOutcome when
        its fate cannot be learnt (look it up later with `find`)."""
        body, cid = self.order_body(order), order.client_order_id
        attempts = self.rest.settings.rest_attempts
        for attempt in range(1, attempts + 1):
            try:
                reply = await self.rest.write("POST", self._orders, body)
            except UnknownOutcome as exc:
                log.warning("oanda order of unknown fate; looking it up", order=cid, error=str(exc))
                found = await self._find_or_unknown(cid)
                if found is not None:
                    return found
                continue  # OANDA never took it: sending it again is safe
            except InvalidOrder as exc:
                if attempt > 1 and DUPLICATE_ID in str(exc):  # it did arrive after all
                    found = await self._find_or_unknown(cid)
                    if found is not None:
                        return found
                raise
            return await self._created(cid, decode_reply(self._orders, reply, OrderCreated))
        raise UnknownOutcome(f"order {cid}: OANDA gave no answer in {attempts} attempts")

    async def find(self, client_order_id: str) -> Outcome | None:
        """What became of one of our orders; None if OANDA never had it."""
        return await self.look_up(f"@{client_order_id}", client_order_id)

    async def cancel(
        self, client_order_id: str, venue_order_id: str | None = None
    ) -> Outcome | None:
        """Cancel a pending order (by OANDA's id if given: a trade's stop-loss or take-profit
        has no client id of ours); its outcome after (a fill that came first stays a fill),
        None if OANDA never had it."""
        spec = f"@{client_order_id}" if venue_order_id is None else venue_order_id
        path = f"{self._orders}/{spec}/cancel"
        try:
            reply = await self.rest.write("PUT", path)
        except UnknownOutcome:
            try:
                return await self.look_up(spec, client_order_id)
            except TemporaryError as exc:
                raise UnknownOutcome(f"cancel of {client_order_id}: fate unknown ({exc})") from exc
        except InvalidRequest as exc:  # already filled or cancelled, or unknown
            log.info("oanda refused a cancel", order=client_order_id, error=str(exc))
            return await self.look_up(spec, client_order_id)
        cancel = decode_reply(path, reply, CancelReply).order_cancel_transaction
        return Outcome(client_order_id, State.CANCELED, cancel.order_id, reason=cancel.reason)

    async def look_up(self, spec: str, cid: str) -> Outcome | None:
        """The outcome of the order `spec` (OANDA's id, or "@" and our client order id), told
        as our order `cid`'s; None if OANDA has no such order."""
        path = f"{self._orders}/{spec}"
        try:
            order = decode_reply(path, await self.rest.read(path), OrderReply).order
        except InvalidRequest as exc:
            if exc.code == NOT_FOUND:
                return None
            raise
        return await self._outcome(cid, order)

    async def pending_orders(self) -> list[VenueOrder]:
        path = account_path(self.rest.settings, "pendingOrders")
        return decode_reply(path, await self.rest.read(path), OrdersReply).orders

    # -- trades and positions ------------------------------------------------------------------

    async def open_trades(self) -> list[VenueTrade]:
        path = account_path(self.rest.settings, "openTrades")
        return decode_reply(path, await self.rest.read(path), TradesReply).trades

    async def trade(self, spec: str) -> VenueTrade | None:
        """A trade, open or closed, by OANDA's id or "@" and the client id it carries (our
        entry's); None if OANDA has no such trade."""
        path = account_path(self.rest.settings, f"trades/{spec}")
        try:
            return decode_reply(path, await self.rest.read(path), TradeReply).trade
        except InvalidRequest as exc:
            if exc.code == NOT_FOUND:
                return None
            raise

    async def open_positions(self) -> PositionsReply:
        path = account_path(self.rest.settings, "openPositions")
        return decode_reply(path, await self.rest.read(path), PositionsReply)

    async def close_position(self, symbol: str, side: Side) -> FillTransaction | None:
        """Close all of the long (`side` BUY) or short units held in `symbol` at market; the
        fill, or None when there was nothing to close."""
        path = account_path(self.rest.settings, f"positions/{venue_name(symbol)}/close")
        which = "longUnits" if side is Side.BUY else "shortUnits"
        try:
            answer = await self.rest.write("PUT", path, {which: "ALL"})
        except InvalidRequest as exc:
            if exc.code == NOT_FOUND or "CLOSEOUT_POSITION_DOESNT_EXIST" in str(exc):
                return None
            raise
        reply = decode_reply(path, answer, PositionClosed)
        if side is Side.BUY:
            return reply.long_order_fill_transaction
        return reply.short_order_fill_transaction

    # -- transactions -------------------------------------------------------------------------

    async def transaction(self, transaction_id: str) -> StreamTransaction:
        path = account_path(self.rest.settings, f"transactions/{transaction_id}")
        return decode_reply(path, await self.rest.read(path), TransactionReply).transaction

    async def last_transaction_id(self) -> str:
        """The id of the account's latest transaction: what comes after it is news."""
        path = account_path(self.rest.settings, "summary")
        return decode_reply(path, await self.rest.read(path), AccountSummary).last_transaction_id

    # -- outcomes -----------------------------------------------------------------------------

    async def _created(self, cid: str, created: OrderCreated) -> Outcome:
        order_id = created.order_create_transaction.id
        fill = created.order_fill_transaction
        if fill is not None:
            return await self._filled(cid, order_id, fill)
        cancel = created.order_cancel_transaction
        if cancel is not None:
            return Outcome(cid, State.CANCELED, order_id, reason=cancel.reason)
        return Outcome(cid, State.PENDING, order_id)

    async def _outcome(self, cid: str, order: VenueOrder) -> Outcome:
        if order.state == "FILLED" and order.filling_transaction_id is not None:
            path = account_path(self.rest.settings, f"transactions/{order.filling_transaction_id}")
            fill = decode_reply(path, await self.rest.read(path), FillReply).transaction
            return await self._filled(cid, order.id, fill)
        if order.state == "CANCELLED":
            cancel = order.cancelling_transaction_id
            reason = "" if cancel is None else (await self.transaction(cancel)).reason
            return Outcome(cid, State.CANCELED, order.id, reason=reason)
        return Outcome(cid, State.PENDING, order.id)

    async def _filled(self, cid: str, order_id: str, fill: FillTransaction) -> Outcome:
        """A fill, with the stop-loss and take-profit OANDA put on the trade it opened."""
        trade_id = None if fill.trade_opened is None else fill.trade_opened.trade_id
        stop = target = None
        if trade_id is not None:
            for trade in await self.open_trades():
                if trade.id == trade_id:
                    stop = trade.stop_loss_order.id if trade.stop_loss_order else None
                    target = trade.take_profit_order.id if trade.take_profit_order else None
        return Outcome(
            cid,
            State.FILLED,
            order_id,
            abs(fill.units),
            fill.price,
            fill.reason,
            trade_id,
            stop,
            target,
            fill.id,
        )

    async def _find_or_unknown(self, cid: str) -> Outcome | None:
        """`find`, but a lookup that fails leaves the order's fate unknown."""
        try:
            return await self.find(cid)
        except TemporaryError as exc:
            raise UnknownOutcome(f"order {cid}: fate unknown, its lookup failed ({exc})") from exc
