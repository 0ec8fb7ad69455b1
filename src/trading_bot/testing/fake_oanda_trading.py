"""The trading half of the fake OANDA: orders, trades, positions and transactions, v20 shapes.

`FakeOandaTrading(fake)` mounts onto a `FakeOanda` before it starts and trades at its prices
(buys at the ask, sells at the bid):

- `POST orders`: MARKET (fill or kill: cancelled with `MARKET_HALTED` while the market is
  closed), LIMIT and STOP (pending until the price reaches them), `clientExtensions.id` unique
  (`CLIENT_ORDER_ID_ALREADY_EXISTS` otherwise), `stopLossOnFill` / `takeProfitOnFill` made into
  the trade's STOP_LOSS and TAKE_PROFIT orders in the fill's batch; a fill first closes trades
  the other way (FIFO), as OANDA's default position fill does.
- The trade's stop and target fill when the price reaches them, closing what is left of their
  own trade, and the other is cancelled (`LINKED_TRADE_CLOSED`) after the fill.
- `GET orders/{id or @clientID}`, `PUT orders/{...}/cancel`, `GET pendingOrders`,
  `GET trades/{id or @clientID}` (closed trades too, with their `closingTransactionIDs` and
  dependent orders), `GET openTrades`, `GET openPositions`, `PUT positions/{instrument}/close`,
  `GET summary` (the account's `lastTransactionID`), `GET transactions/{id}`,
  `GET transactions/sinceid?id=N`, and the transactions stream (`GET transactions/stream`: every
  transaction as it happens, a HEARTBEAT every `fake.heartbeat_s`).

Faults on demand: `fail_after_accept(status, times)`: the next orders are carried out, but
answered with a 5xx, as when OANDA's gateway fails after its core accepted the order;
`cut_transactions()` drops the transactions stream connections.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

import orjson
from aiohttp import web

from trading_bot.testing.fake_oanda import FakeOanda, error
from trading_bot.venues.oanda.schemas import ms_rfc3339

ACCOUNT = "/v3/accounts/{account}"
ZERO = Decimal(0)


@dataclass(eq=False)
class _Order:
    id: str
    type: str  # MARKET, LIMIT, STOP, STOP_LOSS, TAKE_PROFIT
    instrument: str
    units: Decimal  # signed; for a trade's STOP_LOSS / TAKE_PROFIT, the units that close it
    price: Decimal | None
    client_id: str | None
    trade_client_id: str | None = None
    stop_loss: Decimal | None = None
    take_profit: Decimal | None = None
    trade_id: str | None = None  # of a dependent order
    reduce_only: bool = False  # positionFill REDUCE_ONLY
    state: str = "PENDING"
    filling_transaction_id: str | None = None
    trade_opened_id: str | None = None
    cancelling_transaction_id: str | None = None

    def json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"id": self.id, "type": self.type, "state": self.state}
        if self.trade_id is not None:
            body["tradeID"] = self.trade_id
        else:
            body["instrument"] = self.instrument
            body["units"] = str(self.units)
        if self.price is not None:
            body["price"] = str(self.price)
        if self.client_id is not None:
            body["clientExtensions"] = {"id": self.client_id}
        for key, value in (
            ("fillingTransactionID", self.filling_transaction_id),
            ("tradeOpenedID", self.trade_opened_id),
            ("cancellingTransactionID", self.cancelling_transaction_id),
        ):
            if value is not None:
                body[key] = value
        return body


@dataclass(eq=False)
class _Trade:
    id: str
    instrument: str
    price: Decimal
    units: Decimal  # signed, what is left open
    client_id: str | None
    open_time: str
    stop_loss: _Order | None = None
    take_profit: _Order | None = None
    closing: list[str] = field(default_factory=list)  # the fills that closed parts of it
    close_time: str | None = None  # once fully closed
    initial_units: Decimal = field(init=False)

    def __post_init__(self) -> None:
        self.initial_units = self.units

    def json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": self.id,
            "instrument": self.instrument,
            "price": str(self.price),
            "openTime": self.open_time,
            "state": "OPEN" if self.close_time is None else "CLOSED",
            "initialUnits": str(self.initial_units),
            "currentUnits": str(self.units),
        }
        if self.closing:
            body["closingTransactionIDs"] = list(self.closing)
        if self.close_time is not None:
            body["closeTime"] = self.close_time
        if self.client_id is not None:
            body["clientExtensions"] = {"id": self.client_id}
        for key, order in (
            ("stopLossOrder", self.stop_loss),
            ("takeProfitOrder", self.take_profit),
        ):
            if order is not None:
                body[key] = order.json()
        return body


@dataclass(eq=False)
class _Listener:
    """A transactions stream connection and the last transaction it was sent."""

    response: web.StreamResponse
    transport: asyncio.Transport | None
    sent: int
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    closed: bool = False


@dataclass
class _Batch:
    """The transactions one request (or one price) made."""

    ids: list[str] = field(default_factory=list)


class FakeOandaTrading:
    def __init__(self, fake: FakeOanda) -> None:
        self.fake = fake
        self.transactions: dict[str, dict[str, Any]] = {}
        self.orders: dict[str, _Order] = {}
        self.trades: dict[str, _Trade] = {}  # open ones
        self.order_requests = 0  # POST orders received
        self.received: dict[str, float] = {}  # client id -> time.perf_counter() on arrival
        self.posts: Counter[str] = Counter()  # POST orders received, by client id
        self._by_client: dict[str, _Order] = {}
        self._every_trade: dict[str, _Trade] = {}  # closed ones too, by id and "@" client id
        self._fail_after_accept: list[int] = []  # statuses of the next answers to fail
        self._listeners: list[_Listener] = []
        self._connection = asyncio.Condition()
        self.transaction_connections = 0
        fake.mount(self._routes)
        fake.price_listeners.append(self._on_price)

    def fail_after_accept(self, status: int = 502, times: int = 1) -> None:
        """Carry out the next `times` orders but answer each with `status`."""
        self._fail_after_accept += [status] * times

    async def transactions_connected(self, count: int) -> None:
        """Return once `count` transactions stream connections have been accepted in all."""
        async with self._connection:
            await self._connection.wait_for(lambda: self.transaction_connections >= count)

    def cut_transactions(self) -> None:
        """Drop every transactions stream connection."""
        for listener in list(self._listeners):
            listener.closed = True
            if listener.transport is not None:
                listener.transport.abort()

    def position_units(self, name: str) -> Decimal:
        return sum((t.units for t in self.trades.values() if t.instrument == name), ZERO)

    def order_with_id(self, client_id: str) -> _Order | None:
        """The order placed under `client_id`, if one was."""
        return self._by_client.get(client_id)

    # -- routes -------------------------------------------------------------------------------

    def _routes(self, app: web.Application) -> None:
        app.router.add_post(f"{ACCOUNT}/orders", self._post_order)
        app.router.add_get(f"{ACCOUNT}/orders/{{spec}}", self._get_order)
        app.router.add_put(f"{ACCOUNT}/orders/{{spec}}/cancel", self._cancel_order)
        app.router.add_get(f"{ACCOUNT}/pendingOrders", self._pending)
        app.router.add_get(f"{ACCOUNT}/trades/{{spec}}", self._get_trade)
        app.router.add_get(f"{ACCOUNT}/openTrades", self._open_trades)
        app.router.add_get(f"{ACCOUNT}/summary", self._summary)
        app.router.add_get(f"{ACCOUNT}/openPositions", self._open_positions)
        app.router.add_put(f"{ACCOUNT}/positions/{{instrument}}/close", self._close_position)
        app.router.add_get(f"{ACCOUNT}/transactions/stream", self._transaction_stream)
        app.router.add_get(f"{ACCOUNT}/transactions/sinceid", self._since)
        app.router.add_get(f"{ACCOUNT}/transactions/{{id}}", self._transaction)

    async def _post_order(self, request: web.Request) -> web.Response:
        refusal = self.fake.account_error(request)
        if refusal is not None:
            return refusal
        self.order_requests += 1
        try:
            spec = (await request.json())["order"]
            kind, name = spec["type"], spec["instrument"]
            units = Decimal(spec["units"])
            price = Decimal(spec["price"]) if "price" in spec else None
            stop = Decimal(spec["stopLossOnFill"]["price"]) if "stopLossOnFill" in spec else None
            target = (
                Decimal(spec["takeProfitOnFill"]["price"]) if "takeProfitOnFill" in spec else None
            )
            client_id = spec.get("clientExtensions", {}).get("id")
            trade_client_id = spec.get("tradeClientExtensions", {}).get("id")
            reduce_only = spec.get("positionFill", "DEFAULT") == "REDUCE_ONLY"
        except (KeyError, TypeError, ValueError, InvalidOperation):
            return error(400, "Invalid value specified for the order", "INVALID_ORDER")
        if client_id is not None:
            self.received.setdefault(client_id, time.perf_counter())
            self.posts[client_id] += 1
        reason = self._reject_reason(kind, name, units, price, client_id)
        if reason is not None:
            return self._reject(kind, reason)
        batch = _Batch()
        order = _Order(
            self._tx(batch, {"type": f"{kind}_ORDER", "instrument": name, "units": str(units)}),
            kind,
            name,
            units,
            price,
            client_id,
            trade_client_id,
            stop,
            target,
            reduce_only=reduce_only,
        )
        self.orders[order.id] = order
        if client_id is not None:
            self._by_client[client_id] = order
        answer: dict[str, Any] = {"orderCreateTransaction": self.transactions[order.id]}
        if kind == "MARKET":
            quote = self.fake.quote(name)
            if not self.fake.tradeable or quote is None:
                answer["orderCancelTransaction"] = self._cancel(batch, order, "MARKET_HALTED")
            elif order.reduce_only and not self._reduce_to_position(order):
                # OANDA's documented cancel reasons name none for this; clients go by the
                # cancel itself
                answer["orderCancelTransaction"] = self._cancel(batch, order, "REDUCE_ONLY")
            else:
                fill = self._fill(batch, order, quote[2] if units > 0 else quote[1], "MARKET_ORDER")
                answer["orderFillTransaction"] = fill
        answer["relatedTransactionIDs"] = batch.ids
        answer["lastTransactionID"] = batch.ids[-1]
        if self._fail_after_accept:
            return error(self._fail_after_accept.pop(0), "The server failed after accepting.")
        return web.json_response(answer, status=201)

    async def _get_order(self, request: web.Request) -> web.Response:
        order = self._order(request)
        if isinstance(order, web.Response):
            return order
        return web.json_response({"order": order.json(), "lastTransactionID": self._last()})

    async def _cancel_order(self, request: web.Request) -> web.Response:
        order = self._order(request)
        if isinstance(order, web.Response):
            return order
        if order.state != "PENDING":
            return error(404, "The Order specified is not pending", "ORDER_DOESNT_EXIST")
        transaction = self._cancel(_Batch(), order, "CLIENT_REQUEST")
        return web.json_response({"orderCancelTransaction": transaction})

    async def _pending(self, request: web.Request) -> web.Response:
        pending = [o.json() for o in self.orders.values() if o.state == "PENDING"]
        return web.json_response({"orders": pending, "lastTransactionID": self._last()})

    async def _get_trade(self, request: web.Request) -> web.Response:
        refusal = self.fake.account_error(request)
        if refusal is not None:
            return refusal
        trade = self._every_trade.get(request.match_info["spec"])
        if trade is None:
            return error(404, "The Trade specified does not exist", "NO_SUCH_TRADE")
        return web.json_response({"trade": trade.json(), "lastTransactionID": self._last()})

    async def _open_trades(self, request: web.Request) -> web.Response:
        trades = [t.json() for t in self.trades.values()]
        return web.json_response({"trades": trades, "lastTransactionID": self._last()})

    async def _summary(self, request: web.Request) -> web.Response:
        """The account summary, with the fields the fake keeps (no balance nor margin)."""
        refusal = self.fake.account_error(request)
        if refusal is not None:
            return refusal
        account = {
            "id": self.fake.account_id,
            "currency": "USD",
            "openTradeCount": len(self.trades),
            "pendingOrderCount": sum(o.state == "PENDING" for o in self.orders.values()),
            "lastTransactionID": self._last(),
        }
        return web.json_response({"account": account, "lastTransactionID": self._last()})

    async def _open_positions(self, request: web.Request) -> web.Response:
        positions = []
        for name in sorted({t.instrument for t in self.trades.values()}):
            sides = {}
            for side, sign in (("long", 1), ("short", -1)):
                trades = [t for t in self.trades.values() if t.instrument == name]
                held = [t for t in trades if t.units * sign > 0]
                units = sum((t.units for t in held), ZERO)
                sides[side] = {"units": str(units)}
                if held:
                    cost = sum((t.units * t.price for t in held), ZERO)
                    sides[side]["averagePrice"] = str(cost / units)
            positions.append({"instrument": name, **sides})
        return web.json_response({"positions": positions, "lastTransactionID": self._last()})

    async def _close_position(self, request: web.Request) -> web.Response:
        refusal = self.fake.account_error(request)
        if refusal is not None:
            return refusal
        name = request.match_info["instrument"]
        body = await request.json()
        side = "long" if body.get("longUnits") == "ALL" else "short"
        sign = 1 if side == "long" else -1
        held = sum(
            (t.units for t in self.trades.values() if t.instrument == name and t.units * sign > 0),
            ZERO,
        )
        quote = self.fake.quote(name)
        if held == 0 or quote is None:
            return web.json_response(
                {
                    f"{side}OrderRejectTransaction": {
                        "rejectReason": "CLOSEOUT_POSITION_DOESNT_EXIST"
                    },
                    "errorCode": "CLOSEOUT_POSITION_DOESNT_EXIST",
                    "errorMessage": "The Position requested to be closed out does not exist",
                },
                status=400,
            )
        batch = _Batch()
        order = _Order(
            self._tx(batch, {"type": "MARKET_ORDER", "instrument": name, "units": str(-held)}),
            "MARKET",
            name,
            -held,
            None,
            None,
        )
        self.orders[order.id] = order
        price = quote[1] if side == "long" else quote[2]
        fill = self._fill(batch, order, price, "MARKET_ORDER_POSITION_CLOSEOUT")
        return web.json_response(
            {
                f"{side}OrderCreateTransaction": self.transactions[order.id],
                f"{side}OrderFillTransaction": fill,
                "relatedTransactionIDs": batch.ids,
                "lastTransactionID": batch.ids[-1],
            }
        )

    async def _transaction(self, request: web.Request) -> web.Response:
        transaction = self.transactions.get(request.match_info["id"])
        if transaction is None:
            return error(404, "The Transaction specified does not exist", "NO_SUCH_TRANSACTION")
        return web.json_response({"transaction": transaction, "lastTransactionID": self._last()})

    async def _since(self, request: web.Request) -> web.Response:
        try:
            after = int(request.query["id"])
        except (KeyError, ValueError):
            return error(400, "Invalid value specified for 'id'")
        since = [t for i, t in self.transactions.items() if int(i) > after]
        return web.json_response({"transactions": since, "lastTransactionID": self._last()})

    async def _transaction_stream(self, request: web.Request) -> web.StreamResponse:
        refusal = self.fake.account_error(request)
        if refusal is not None:
            return refusal
        response = web.StreamResponse(headers={"Content-Type": "application/octet-stream"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        listener = _Listener(response, request.transport, len(self.transactions))
        self._listeners.append(listener)
        async with self._connection:
            self.transaction_connections += 1
            self._connection.notify_all()
        try:
            while not listener.closed:
                quiet = True
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self.fake.heartbeat_s):
                        await listener.wake.wait()
                        quiet = False
                listener.wake.clear()
                lines = [
                    self.transactions[str(i)]
                    for i in range(listener.sent + 1, len(self.transactions) + 1)
                ]
                listener.sent = len(self.transactions)
                if quiet:
                    now = ms_rfc3339(self.fake.clock.now_ms())
                    lines.append(
                        {"type": "HEARTBEAT", "lastTransactionID": self._last(), "time": now}
                    )
                try:
                    for line in lines:
                        await response.write(orjson.dumps(line) + b"\n")
                except (ConnectionError, RuntimeError):
                    break
        finally:
            self._listeners.remove(listener)
        return response

    # -- the book -----------------------------------------------------------------------------

    def _on_price(self, name: str, time_ms: int, bid: Decimal, ask: Decimal) -> None:
        """Fill what the new price reaches: pending entries, then the trades' stops and
        targets."""
        for order in [o for o in self.orders.values() if o.state == "PENDING"]:
            if order.state != "PENDING":
                continue  # cancelled by an earlier fill at this price
            trade = self.trades.get(order.trade_id) if order.trade_id else None
            if order.trade_id is not None and trade is None:
                continue
            instrument = trade.instrument if trade is not None else order.instrument
            if instrument != name or order.price is None:
                continue
            buying = order.units > 0
            price = ask if buying else bid
            if order.type in ("LIMIT", "TAKE_PROFIT"):
                reached = price <= order.price if buying else price >= order.price
            else:  # STOP, STOP_LOSS
                reached = price >= order.price if buying else price <= order.price
            if reached:
                self._fill(_Batch(), order, price, f"{order.type}_ORDER")

    def _reduce_to_position(self, order: _Order) -> bool:
        """Cut a REDUCE_ONLY order to the units its fill can close; False if none."""
        closable = sum(
            (
                abs(t.units)
                for t in self.trades.values()
                if t.instrument == order.instrument and t.units * order.units < 0
            ),
            Decimal(0),
        )
        units = min(abs(order.units), closable)
        order.units = units if order.units > 0 else -units
        return units > 0

    def _fill(self, batch: _Batch, order: _Order, price: Decimal, reason: str) -> dict[str, Any]:
        """Fill `order` at `price`. A trade's stop-loss or take-profit closes what is left of
        its own trade; any other order closes trades the other way first (FIFO) and opens a
        trade with what is left, with its stop and target. Orders the close leaves without a
        trade are cancelled after the fill, in its batch."""
        fill_id = self._tx(batch, {})
        now = ms_rfc3339(self.fake.clock.now_ms())
        own = None if order.trade_id is None else self.trades[order.trade_id]
        units = order.units if own is None else -own.units
        left = units
        closed: list[dict[str, str]] = []
        reduced: dict[str, str] | None = None
        orphans: list[_Order] = []
        others = [t for t in self.trades.values() if t.instrument == order.instrument]
        for trade in [own] if own is not None else others:
            if left == 0 or trade.units * left > 0:
                continue
            take = min(abs(left), abs(trade.units)) * (1 if left > 0 else -1)
            trade.units += take
            left -= take
            trade.closing.append(fill_id)
            entry = {"tradeID": trade.id, "units": str(take), "price": str(price)}
            if trade.units == 0:
                closed.append(entry)
                trade.close_time = now
                del self.trades[trade.id]
                orphans += [o for o in (trade.stop_loss, trade.take_profit) if o is not None]
            else:
                reduced = entry
        transaction: dict[str, Any] = {
            "id": fill_id,
            "type": "ORDER_FILL",
            "orderID": order.id,
            "instrument": order.instrument,
            "units": str(units),
            "price": str(price),
            "reason": reason,
            "time": now,
        }
        if order.client_id is not None:
            transaction["clientOrderID"] = order.client_id
        if closed:
            transaction["tradesClosed"] = closed
        if reduced is not None:
            transaction["tradeReduced"] = reduced
        order.state, order.filling_transaction_id = "FILLED", fill_id
        if left != 0:
            trade = _Trade(fill_id, order.instrument, price, left, order.trade_client_id, now)
            self.trades[trade.id] = self._every_trade[trade.id] = trade
            if trade.client_id is not None:
                self._every_trade[f"@{trade.client_id}"] = trade
            order.trade_opened_id = trade.id
            transaction["tradeOpened"] = {
                "tradeID": trade.id,
                "units": str(left),
                "price": str(price),
            }
            trade.stop_loss = self._dependent(batch, trade, "STOP_LOSS", order.stop_loss)
            trade.take_profit = self._dependent(batch, trade, "TAKE_PROFIT", order.take_profit)
        self.transactions[fill_id] = transaction
        for orphan in orphans:
            if orphan.state == "PENDING" and orphan is not order:
                self._cancel(batch, orphan, "LINKED_TRADE_CLOSED")
        return transaction

    def _dependent(
        self, batch: _Batch, trade: _Trade, kind: str, price: Decimal | None
    ) -> _Order | None:
        if price is None:
            return None
        order_id = self._tx(
            batch, {"type": f"{kind}_ORDER", "tradeID": trade.id, "price": str(price)}
        )
        order = _Order(
            order_id, kind, trade.instrument, -trade.units, price, None, trade_id=trade.id
        )
        self.orders[order.id] = order
        return order

    def _cancel(self, batch: _Batch, order: _Order, reason: str) -> dict[str, Any]:
        cancel_id = self._tx(batch, {"type": "ORDER_CANCEL", "orderID": order.id, "reason": reason})
        order.state, order.cancelling_transaction_id = "CANCELLED", cancel_id
        return self.transactions[cancel_id]

    def _reject_reason(
        self, kind: str, name: str, units: Decimal, price: Decimal | None, client_id: str | None
    ) -> str | None:
        if kind not in ("MARKET", "LIMIT", "STOP"):
            return "ORDER_TYPE_INVALID"
        if name not in self.fake.instruments:
            return "INSTRUMENT_UNKNOWN"
        if units == 0 or units != units.to_integral_value():
            return "UNITS_INVALID"
        if kind != "MARKET" and price is None:
            return "PRICE_MISSING"
        if client_id is not None and client_id in self._by_client:
            return "CLIENT_ORDER_ID_ALREADY_EXISTS"
        return None

    def _reject(self, kind: str, reason: str) -> web.Response:
        return web.json_response(
            {
                "orderRejectTransaction": {"type": f"{kind}_ORDER_REJECT", "rejectReason": reason},
                "errorCode": reason,
                "errorMessage": f"The order was rejected: {reason}",
            },
            status=400,
        )

    def _order(self, request: web.Request) -> _Order | web.Response:
        refusal = self.fake.account_error(request)
        if refusal is not None:
            return refusal
        spec = request.match_info["spec"]
        order = self._by_client.get(spec[1:]) if spec.startswith("@") else self.orders.get(spec)
        if order is None:
            return error(404, "The Order specified does not exist", "ORDER_DOESNT_EXIST")
        return order

    def _tx(self, batch: _Batch, body: dict[str, Any]) -> str:
        """A new transaction in `batch` (a fill fills its body in itself)."""
        transaction_id = str(len(self.transactions) + 1)
        batch.ids.append(transaction_id)
        time = ms_rfc3339(self.fake.clock.now_ms())
        self.transactions[transaction_id] = {"id": transaction_id, "time": time, **body}
        for listener in self._listeners:  # they send once the request or price is done
            listener.wake.set()
        return transaction_id

    def _last(self) -> str:
        return str(len(self.transactions))
