"""Trading on the fake Binance: signed order endpoints, an account, and the user data stream.

Mount it on a `FakeBinance` before that starts; the production clients then run unchanged:

    fake = FakeBinance({"BTC/USDT": frame}, "1m")
    venue = FakeBinanceTrading(fake, balances={"USDT": Decimal(100_000)})
    async with venue:  # starts (and closes) the fake too
        rest = BinanceRest(fake.settings(), fake.clock, credentials=venue.credentials)
        ...
        steps = fake.updates()
        next(steps)  # move the market one update: resting orders fill as candles cross them

What it serves, in Binance's shapes and with its rules:
- SIGNED REST: `POST/DELETE/GET /api/v3/order`, `POST /api/v3/orderList/oco`,
  `GET /api/v3/openOrders`, `/api/v3/account`, `/api/v3/myTrades` and
  `/sapi/v1/account/apiRestrictions`. The key must be the fake's (`X-MBX-APIKEY`, else -2015),
  the HMAC signature that of the exact parameters sent (else -1022) and the timestamp within
  recvWindow of the fake's clock (else -1021). Numbers must be plain decimals on the symbol's
  tick and lot grid (else -1100 / -1013);
- the user data stream: over the WebSocket API (`/ws-api/v3`,
  `userDataStream.subscribe.signature`, events as `{"subscriptionId": n, "event": {...}}`) and
  the listen-key stream (`POST/PUT/DELETE /api/v3/userDataStream`, `/ws/<listenKey>`), pushing
  `executionReport`, `listStatus` and `outboundAccountPosition` events.

A market without an order book: a MARKET order fills at once at the market's price
(`FakeBinance.last_price`), as does a LIMIT order at or through it; other limits rest and fill
at their price when a candle reaches it (at the open when a candle opens beyond it). A
STOP_LOSS_LIMIT triggers when a candle reaches its stop and fills at the trigger price if its
limit allows, else rests as a limit; a stop that would trigger at once is refused, as Binance
does. One order of an OCO filling expires the other; cancelling one cancels both. Fills pay
`fee_rate` (a buy in the base asset, a sell in the quote asset), come as `fill_parts` trades,
and move the balances; open orders lock what they may spend.

Faults on demand: `faults` (every Nth new order or cancel: answered 5xx after it was done,
never answered so that the client times out, or 5xx without being done), `user_data`'s (see
`fake_binance_user_data`), and `withdrawals_enabled` in the key's API restrictions.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import itertools
import re
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Any
from urllib.parse import parse_qsl

import orjson
from aiohttp import web

from trading_bot.core.model import to_decimal
from trading_bot.testing.fake_binance import (
    LOT_STEP,
    MIN_NOTIONAL,
    FakeBinance,
    SymbolRules,
)
from trading_bot.testing.fake_binance_book import (
    ZERO,
    FakeOrder,
    FakeTrade,
    Lock,
    OrderList,
    account_position,
    cancel_json,
    execution_report,
    full_json,
    list_json,
    list_status,
    n,
    order_json,
    trade_json,
)
from trading_bot.testing.fake_binance_user_data import (
    FakeUserDataStream,
    Refused,
    UserStreamFaults,
    check_key,
    error_response,
    sign,
)
from trading_bot.venues.binance.rest import ApiCredentials

API_KEY_HEADER = "X-MBX-APIKEY"
FEE_RATE = Decimal("0.001")
EIGHT = Decimal("0.00000001")
MAX_RECV_WINDOW = 60_000
CLIENT_ORDER_ID = re.compile(r"[.A-Z:/a-z0-9_-]{1,36}")
NUMBER = re.compile(r"[0-9]{1,20}(\.[0-9]{1,20})?")
UNKNOWN_OUTCOME = "Timeout waiting for response from backend server. Send status unknown; " + (
    "execution status unknown."
)

Params = dict[str, str]
Endpoint = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class TradingFaults:
    """Faults by request count: every Nth new order (POST order or OCO) or cancel."""

    error_after_accept_every: int | None = None  # done, then answered `error_status`
    timeout_after_accept_every: int | None = None  # done, then never answered
    error_before_accept_every: int | None = None  # answered `error_status`, not done
    cancel_error_after_every: int | None = None
    cancel_timeout_every: int | None = None
    error_status: int = 503


class FakeBinanceTrading:
    def __init__(
        self,
        fake: FakeBinance,
        *,
        api_key: str = "fake-api-key",
        secret: str = "fake-api-secret",
        balances: Mapping[str, Decimal] | None = None,
        fee_rate: Decimal = FEE_RATE,
        fill_parts: int = 1,
        withdrawals_enabled: bool = False,
        faults: TradingFaults | None = None,
        user_faults: UserStreamFaults | None = None,
        hold_s: float = 30.0,
    ) -> None:
        self.fake = fake
        self.api_key = api_key
        self.secret = secret
        self.fee_rate = fee_rate
        self.fill_parts = fill_parts
        self.withdrawals_enabled = withdrawals_enabled
        self.trading_enabled = True
        self.faults = faults or TradingFaults()
        self.hold_s = hold_s
        self.user_data = FakeUserDataStream(api_key, secret, self._check_time, user_faults)
        start = {"USDT": Decimal(1_000_000), "BTC": Decimal(100), "ETH": Decimal(1000)}
        self.balances: dict[str, Decimal] = dict(start if balances is None else balances)
        self.locked: dict[str, Decimal] = {}
        # the exchange's book of record
        self.orders: list[FakeOrder] = []
        self._open: list[FakeOrder] = []  # a superset of the working orders, pruned on reading
        self.trades: list[FakeTrade] = []
        self.order_lists: dict[int, OrderList] = {}
        # observations for tests
        self.new_order_requests = 0
        self.cancel_requests = 0
        self.refusals: Counter[int] = Counter()  # by Binance error code
        self.faults_done: Counter[str] = Counter()
        # state
        self._ids = itertools.count(1)
        self._trade_ids = itertools.count(1)
        self._list_ids = itertools.count(1)
        self._other_ids = itertools.count(1)
        self._last: dict[str, tuple[int, float, float, float]] = {}
        self._release = asyncio.Event()
        fake.mount(self._routes)
        fake.price_listeners.append(self._on_market)

    # -- lifecycle ----------------------------------------------------------------------------

    async def __aenter__(self) -> FakeBinanceTrading:
        await self.fake.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def close(self) -> None:
        self._release.set()  # answer the requests held back
        self.user_data.drop()
        await self.fake.close()

    @property
    def credentials(self) -> ApiCredentials:
        return ApiCredentials(self.api_key, self.secret)

    def server_now_ms(self) -> int:
        return self.fake.clock.now_ms() + self.fake.clock_skew_ms

    # -- looking at the book ------------------------------------------------------------------

    def orders_with_id(self, client_order_id: str) -> list[FakeOrder]:
        return [o for o in self.orders if o.client_order_id == client_order_id]

    def working_orders(self, venue_symbol: str | None = None) -> list[FakeOrder]:
        self._open = [o for o in self._open if o.working]
        return [o for o in self._open if venue_symbol in (None, o.symbol)]

    def free(self, asset: str) -> Decimal:
        return self.balances.get(asset, ZERO)

    # -- routes -------------------------------------------------------------------------------

    def _routes(self, app: web.Application) -> None:
        add = app.router
        add.add_post("/api/v3/order", self._signed(self._new_order))
        add.add_delete("/api/v3/order", self._signed(self._cancel_order))
        add.add_get("/api/v3/order", self._signed(self._query_order))
        add.add_post("/api/v3/orderList/oco", self._signed(self._new_oco))
        add.add_get("/api/v3/openOrders", self._signed(self._open_orders))
        add.add_get("/api/v3/account", self._signed(self._account))
        add.add_get("/api/v3/myTrades", self._signed(self._my_trades))
        add.add_get("/sapi/v1/account/apiRestrictions", self._signed(self._api_restrictions))
        self.user_data.mount(app)

    def _signed(self, handler: Callable[[Params], Awaitable[web.Response]]) -> Endpoint:
        async def endpoint(request: web.Request) -> web.StreamResponse:
            try:
                check_key(request.headers.get(API_KEY_HEADER), self.api_key)
                params = await self._verified(request)
                return await handler(params)
            except Refused as exc:
                return self._refusal(exc)

        return endpoint

    def _refusal(self, exc: Refused) -> web.Response:
        self.refusals[exc.code] += 1
        return error_response(exc.status, exc.code, exc.msg)

    async def _verified(self, request: web.Request) -> Params:
        """The parameters of a SIGNED request (query string and body), once the signature of
        exactly what was sent and the timestamp check out."""
        query = request.rel_url.raw_query_string
        body = await request.text() if request.body_exists else ""
        params = dict(parse_qsl(query, keep_blank_values=True))
        params.update(parse_qsl(body, keep_blank_values=True))
        signature = params.pop("signature", "")
        if not signature:
            raise Refused(-1102, _mandatory("signature"))
        payload = _unsigned(query) + _unsigned(body)
        if not hmac.compare_digest(sign(payload, self.secret), signature):
            raise Refused(-1022, "Signature for this request is not valid.")
        self._check_time(params)
        return params

    def _check_time(self, params: Mapping[str, str]) -> None:
        try:
            timestamp = int(params["timestamp"])
            window = int(params.get("recvWindow", "5000"))
        except (KeyError, ValueError):
            raise Refused(-1102, _mandatory("timestamp")) from None
        if not 0 < window <= MAX_RECV_WINDOW:
            raise Refused(-1131, "recvWindow must be less than 60000")
        now = self.server_now_ms()
        if timestamp > now + 1000:
            raise Refused(
                -1021, "Timestamp for this request was 1000ms ahead of the server's time."
            )
        if now - timestamp > window:
            raise Refused(-1021, "Timestamp for this request is outside of the recvWindow.")

    # -- orders -------------------------------------------------------------------------------

    def _order_fault(self) -> str | None:
        """The fault injected into this new-order (or OCO) request, counted across both."""
        self.new_order_requests += 1
        return self._fault(
            self.new_order_requests,
            self.faults.timeout_after_accept_every,
            self.faults.error_after_accept_every,
            self.faults.error_before_accept_every,
        )

    async def _new_order(self, params: Params) -> web.Response:
        fault = self._order_fault()
        if fault == "error_before":
            return error_response(self.faults.error_status, -1007, UNKNOWN_OUTCOME)
        order = self._place(params)
        return await self._answer(
            fault, web.json_response(full_json(order, self._trades_of(order)), dumps=_json)
        )

    async def _new_oco(self, params: Params) -> web.Response:
        fault = self._order_fault()
        if fault == "error_before":
            return error_response(self.faults.error_status, -1007, UNKNOWN_OUTCOME)
        order_list = self._place_oco(params)
        answer = list_json(order_list, self.server_now_ms(), self.trades)
        return await self._answer(fault, web.json_response(answer, dumps=_json))

    async def _cancel_order(self, params: Params) -> web.Response:
        self.cancel_requests += 1
        fault = self._fault(
            self.cancel_requests,
            self.faults.cancel_timeout_every,
            self.faults.cancel_error_after_every,
            None,
        )
        order = self._find(params)
        if order is None or not order.working:
            raise Refused(-2011, "Unknown order sent.")
        cancel_id = params.get("newClientOrderId") or f"cancel-{next(self._other_ids)}"
        order_list = self.order_lists.get(order.order_list_id)
        for leg in [order] if order_list is None else order_list.orders:
            if leg.working:
                self._finish(leg, "CANCELED", "CANCELED", cancel_id)
        if order_list is not None:
            self._list_done(order_list)
        answer = cancel_json(order, cancel_id, self.server_now_ms())
        return await self._answer(fault, web.json_response(answer, dumps=_json))

    async def _query_order(self, params: Params) -> web.Response:
        order = self._find(params)
        if order is None:
            raise Refused(-2013, "Order does not exist.")
        return web.json_response(order_json(order), dumps=_json)

    async def _open_orders(self, params: Params) -> web.Response:
        symbol = params.get("symbol")
        if symbol is not None:
            self._rules(symbol)
        orders = self.working_orders(symbol)
        return web.json_response([order_json(o) for o in orders], dumps=_json)

    async def _my_trades(self, params: Params) -> web.Response:
        symbol = params.get("symbol")
        if not symbol:
            raise Refused(-1102, _mandatory("symbol"))
        self._rules(symbol)
        trades = [t for t in self.trades if t.symbol == symbol]
        if "orderId" in params:
            trades = [t for t in trades if str(t.order_id) == params["orderId"]]
        limit = min(1000, int(params.get("limit", "500")))
        if "fromId" in params:
            trades = [t for t in trades if t.id >= int(params["fromId"])][:limit]
        else:
            trades = trades[-limit:]
        return web.json_response([trade_json(t) for t in trades], dumps=_json)

    async def _account(self, params: Params) -> web.Response:
        omit_zero = params.get("omitZeroBalances") == "true"
        assets = sorted(set(self.balances) | set(self.locked))
        balances = [
            {"asset": a, "free": n(self.free(a)), "locked": n(self.locked.get(a, ZERO))}
            for a in assets
            if not omit_zero or self.free(a) or self.locked.get(a)
        ]
        return web.json_response(
            {
                "makerCommission": 10,
                "takerCommission": 10,
                "canTrade": self.trading_enabled,
                "canWithdraw": True,
                "canDeposit": True,
                "brokered": False,
                "requireSelfTradePrevention": False,
                "updateTime": self.server_now_ms(),
                "accountType": "SPOT",
                "balances": balances,
                "permissions": ["SPOT"],
                "uid": 354937868,
            },
            dumps=_json,
        )

    async def _api_restrictions(self, params: Params) -> web.Response:
        return web.json_response(
            {
                "ipRestrict": False,
                "createTime": 1_623_840_271_000,
                "enableReading": True,
                "enableWithdrawals": self.withdrawals_enabled,
                "enableInternalTransfer": False,
                "enableMargin": False,
                "enableFutures": False,
                "permitsUniversalTransfer": False,
                "enableVanillaOptions": False,
                "enableFixApiTrade": False,
                "enableFixReadOnly": False,
                "enableSpotAndMarginTrading": self.trading_enabled,
                "enablePortfolioMarginTrading": False,
            },
            dumps=_json,
        )

    # -- placing ------------------------------------------------------------------------------

    def _place(self, params: Params) -> FakeOrder:
        symbol = _required(params, "symbol")
        rules = self._rules(symbol)
        side = _side(params.get("side"))
        kind = params.get("type", "")
        if kind not in ("MARKET", "LIMIT", "STOP_LOSS_LIMIT", "LIMIT_MAKER"):
            raise Refused(-1116, "Invalid orderType.")
        cid = self._new_id(params.get("newClientOrderId"), "newClientOrderId")
        qty = self._quantity(params, "quantity")
        now_price = self._price(symbol, rules)
        price = stop = ZERO
        tif = "GTC"
        if kind == "MARKET":
            if "price" in params:
                raise Refused(-1106, "Parameter 'price' sent when not required.")
        else:
            price = self._price_param(params, "price", rules)
        if kind in ("LIMIT", "STOP_LOSS_LIMIT"):
            tif = _required(params, "timeInForce")
            if tif != "GTC":
                raise Refused(-1115, "Invalid timeInForce.")
        if kind == "STOP_LOSS_LIMIT":
            stop = self._price_param(params, "stopPrice", rules)
        _notional(qty, now_price if kind == "MARKET" else price)
        buy = side == "BUY"
        if kind == "STOP_LOSS_LIMIT" and (stop <= now_price if buy else stop >= now_price):
            raise Refused(-2010, "Stop price would trigger immediately.")
        marketable = price >= now_price if buy else price <= now_price
        if kind == "LIMIT_MAKER" and marketable:
            raise Refused(-2010, "Order would immediately match and take.")
        self._check_unique(cid)
        unit = now_price if kind == "MARKET" else price
        lock = self._lock(rules.quote if buy else rules.base, unit if buy else Decimal(1), qty)
        order = self._add(symbol, cid, side, kind, qty, price, stop, tif, lock)
        if kind == "MARKET" or (kind == "LIMIT" and marketable):
            self._fill(order, now_price, maker=False)
        return order

    def _place_oco(self, params: Params) -> OrderList:
        symbol = _required(params, "symbol")
        rules = self._rules(symbol)
        side = _side(params.get("side"))
        buy = side == "BUY"
        list_id = self._new_id(params.get("listClientOrderId"), "listClientOrderId")
        qty = self._quantity(params, "quantity")
        legs: dict[str, tuple[str, str, Decimal, Decimal]] = {}
        for leg in ("above", "below"):
            kind = _required(params, f"{leg}Type")
            cid = self._new_id(params.get(f"{leg}ClientOrderId"), f"{leg}ClientOrderId")
            price = self._price_param(params, f"{leg}Price", rules)
            stop = ZERO
            if kind == "STOP_LOSS_LIMIT":
                stop = self._price_param(params, f"{leg}StopPrice", rules)
                if params.get(f"{leg}TimeInForce") != "GTC":
                    raise Refused(-1115, "Invalid timeInForce.")
            _notional(qty, price)
            legs[leg] = (kind, cid, price, stop)
        expected = (
            ("LIMIT_MAKER", "STOP_LOSS_LIMIT") if not buy else ("STOP_LOSS_LIMIT", "LIMIT_MAKER")
        )
        if (legs["above"][0], legs["below"][0]) != expected:
            raise Refused(-1102, "Unsupported order combination for this fake OCO.")
        now = self._price(symbol, rules)
        target = legs["above" if not buy else "below"][2]
        stop_price = legs["below" if not buy else "above"][3]
        if not (target > now > stop_price if not buy else target < now < stop_price):
            raise Refused(-2010, "The relationship of the prices for the orders is not correct.")
        for _, cid, _, _ in legs.values():
            self._check_unique(cid)
        unit = max(legs["above"][2], legs["below"][2]) if buy else Decimal(1)
        lock = self._lock(rules.quote if buy else rules.base, unit, qty)
        order_list = OrderList(next(self._list_ids), list_id, symbol, [])
        self.order_lists[order_list.order_list_id] = order_list
        for leg in ("below", "above"):
            kind, cid, price, stop = legs[leg]
            order = self._add(
                symbol, cid, side, kind, qty, price, stop, "GTC", lock, order_list.order_list_id
            )
            order_list.orders.append(order)
        self._list_status(order_list, "EXEC_STARTED")
        return order_list

    def _add(
        self,
        symbol: str,
        cid: str,
        side: str,
        kind: str,
        qty: Decimal,
        price: Decimal,
        stop: Decimal,
        tif: str,
        lock: Lock,
        order_list_id: int = -1,
    ) -> FakeOrder:
        now = self.server_now_ms()
        order = FakeOrder(
            next(self._ids), cid, symbol, side, kind, qty, price, stop, tif, now, order_list_id
        )
        order.update_time, order.lock = now, lock
        self.orders.append(order)
        self._open.append(order)
        self._report(order, "NEW")
        return order

    def _check_unique(self, cid: str) -> None:
        """Binance refuses a client order id that an open order holds."""
        if any(o.client_order_id == cid for o in self.working_orders()):
            raise Refused(-2010, "Duplicate order sent.")

    def _new_id(self, given: str | None, name: str) -> str:
        if given is None:
            return f"fake-{next(self._other_ids)}"
        if not CLIENT_ORDER_ID.fullmatch(given):
            raise Refused(
                -1100,
                f"Illegal characters found in parameter '{name}'; legal range is "
                "'^[\\.A-Z\\:/a-z0-9_-]{1,36}$'.",
            )
        return given

    def _find(self, params: Params) -> FakeOrder | None:
        symbol = _required(params, "symbol")
        self._rules(symbol)
        cid, oid = params.get("origClientOrderId"), params.get("orderId")
        if cid is None and oid is None:
            raise Refused(-1102, "Param 'origClientOrderId' or 'orderId' must be sent.")
        for order in reversed(self.orders):
            if order.symbol == symbol and (
                order.client_order_id == cid or str(order.order_id) == oid
            ):
                return order
        return None

    # -- the market ---------------------------------------------------------------------------

    def _on_market(
        self, venue: str, open_time: int, now: int, o: float, h: float, low: float, c: float
    ) -> None:
        """One market update: fill what the prices traded since the last one reach."""
        last = self._last.get(venue)
        if last is None or last[0] != open_time:
            start, lo, hi = o, low, h
        else:
            _, last_high, last_low, last_close = last
            start = last_close
            lo = low if low < last_low else min(last_close, c)
            hi = h if h > last_high else max(last_close, c)
        self._last[venue] = (open_time, h, low, c)
        self.cross(venue, to_decimal(start), to_decimal(lo), to_decimal(hi))

    def cross(self, venue: str, start: Decimal, low: Decimal, high: Decimal) -> None:
        """The price moved from `start` through [low, high]: fill the orders it reached."""
        for order in self.working_orders(venue):
            if not order.working:  # an OCO's other order filled meanwhile
                continue
            buy = order.side == "BUY"
            if order.type == "STOP_LOSS_LIMIT" and not order.triggered:
                if buy and high >= order.stop_price:
                    trigger = max(order.stop_price, start)
                elif not buy and low <= order.stop_price:
                    trigger = min(order.stop_price, start)
                else:
                    continue
                order.triggered = True
                if (trigger <= order.price) if buy else (trigger >= order.price):
                    self._fill(order, trigger, maker=False)
            elif buy and low <= order.price:
                self._fill(order, min(order.price, start), maker=True)
            elif not buy and high >= order.price:
                self._fill(order, max(order.price, start), maker=True)

    def _price(self, symbol: str, rules: SymbolRules) -> Decimal:
        return _on_tick(to_decimal(self.fake.last_price(symbol)), rules.tick)

    # -- filling ------------------------------------------------------------------------------

    def _fill(self, order: FakeOrder, price: Decimal, *, maker: bool) -> None:
        rules = self._rules(order.symbol)
        price = _on_tick(price, rules.tick)
        remaining = order.quantity - order.executed
        part = ((remaining / self.fill_parts) / LOT_STEP).to_integral_value(ROUND_DOWN) * LOT_STEP
        parts = [part] * (self.fill_parts - 1) if part > 0 else []
        parts.append(remaining - sum(parts, ZERO))
        for qty in parts:
            self._trade(order, rules, qty, price, maker)

    def _trade(
        self, order: FakeOrder, rules: SymbolRules, qty: Decimal, price: Decimal, maker: bool
    ) -> None:
        buy = order.side == "BUY"
        value = qty * price
        if buy:
            commission, asset = (qty * self.fee_rate).quantize(EIGHT), rules.base
        else:
            commission, asset = (value * self.fee_rate).quantize(EIGHT), rules.quote
        if order.lock is not None:
            self._unlock(order.lock, qty)
        pay, get = (rules.quote, rules.base) if buy else (rules.base, rules.quote)
        self.balances[pay] = self.free(pay) - (value if buy else qty)
        self.balances[get] = self.free(get) + (qty if buy else value) - commission
        now = self.server_now_ms()
        order.executed += qty
        order.quote += value
        order.status = "FILLED" if order.executed >= order.quantity else "PARTIALLY_FILLED"
        order.update_time = now
        trade = FakeTrade(
            next(self._trade_ids),
            order.symbol,
            order.order_id,
            order.order_list_id,
            price,
            qty,
            commission,
            asset,
            now,
            buy,
            maker,
        )
        self.trades.append(trade)
        self._report(order, "TRADE", trade=trade)
        if order.status == "FILLED":
            order_list = self.order_lists.get(order.order_list_id)
            if order_list is not None:
                for other in order_list.orders:
                    if other.working:
                        self._finish(other, "EXPIRED", "EXPIRED")
                self._list_done(order_list)
            elif order.lock is not None:
                self._unlock(order.lock)
        self._account_update(pay, get)

    def _finish(self, order: FakeOrder, status: str, execution: str, cancel_id: str = "") -> None:
        order.status, order.update_time = status, self.server_now_ms()
        if order.order_list_id < 0 and order.lock is not None:
            self._unlock(order.lock)
        self._report(order, execution, cancel_id=cancel_id)

    def _list_done(self, order_list: OrderList) -> None:
        if order_list.status == "ALL_DONE":
            return
        order_list.status = "ALL_DONE"
        lock = order_list.orders[0].lock
        if lock is not None:
            self._unlock(lock)
        self._list_status(order_list, "ALL_DONE")

    # -- balances -----------------------------------------------------------------------------

    def _lock(self, asset: str, per_unit: Decimal, qty: Decimal) -> Lock:
        amount = qty * per_unit
        if self.free(asset) < amount:
            raise Refused(-2010, "Account has insufficient balance for requested action.")
        self.balances[asset] = self.free(asset) - amount
        self.locked[asset] = self.locked.get(asset, ZERO) + amount
        return Lock(asset, per_unit, amount)

    def _unlock(self, lock: Lock, qty: Decimal | None = None) -> None:
        """Give back what `qty` units no longer need (all that is left, without `qty`)."""
        amount = lock.remaining if qty is None else min(lock.remaining, qty * lock.per_unit)
        lock.remaining -= amount
        self.locked[lock.asset] = self.locked.get(lock.asset, ZERO) - amount
        self.balances[lock.asset] = self.free(lock.asset) + amount

    # -- user data events ---------------------------------------------------------------------

    def _report(
        self,
        order: FakeOrder,
        execution: str,
        *,
        trade: FakeTrade | None = None,
        cancel_id: str = "",
    ) -> None:
        now = self.server_now_ms()
        self.user_data.push(
            execution_report(order, execution, now, trade=trade, cancel_id=cancel_id)
        )

    def _list_status(self, order_list: OrderList, status_type: str) -> None:
        self.user_data.push(list_status(order_list, status_type, self.server_now_ms()))

    def _account_update(self, *assets: str) -> None:
        now = self.server_now_ms()
        self.user_data.push(account_position(self.balances, self.locked, assets, now))

    def _trades_of(self, order: FakeOrder) -> list[FakeTrade]:
        return [t for t in self.trades if t.order_id == order.order_id]

    # -- parameters ---------------------------------------------------------------------------

    def _rules(self, symbol: str) -> SymbolRules:
        rules = self.fake.symbol_rules(symbol)
        if rules is None:
            raise Refused(-1121, "Invalid symbol.")
        return rules

    def _quantity(self, params: Params, name: str) -> Decimal:
        qty = _decimal(params, name)
        if qty < LOT_STEP or qty % LOT_STEP:
            raise Refused(-1013, "Filter failure: LOT_SIZE")
        return qty

    def _price_param(self, params: Params, name: str, rules: SymbolRules) -> Decimal:
        price = _decimal(params, name)
        if price <= 0 or price % rules.tick:
            raise Refused(-1013, "Filter failure: PRICE_FILTER")
        return price

    def _fault(
        self, count: int, timeout: int | None, after: int | None, before: int | None
    ) -> str | None:
        for name, every in (
            ("timeout_after", timeout),
            ("error_after", after),
            ("error_before", before),
        ):
            if every and count % every == 0:
                self.faults_done[name] += 1
                return name
        return None

    async def _answer(self, fault: str | None, answer: web.Response) -> web.Response:
        if fault == "error_after":
            return error_response(self.faults.error_status, -1007, UNKNOWN_OUTCOME)
        if fault == "timeout_after":
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.hold_s):
                    await self._release.wait()
        return answer


def _unsigned(raw: str) -> str:
    """A raw parameter string without its `signature`: what the client signed."""
    return "&".join(p for p in raw.split("&") if p and not p.startswith("signature="))


def _mandatory(name: str) -> str:
    return f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed."


def _required(params: Params, name: str) -> str:
    value = params.get(name)
    if not value:
        raise Refused(-1102, _mandatory(name))
    return value


def _side(value: str | None) -> str:
    if value not in ("BUY", "SELL"):
        raise Refused(-1117, "Invalid side.")
    return value


def _decimal(params: Params, name: str) -> Decimal:
    """A number as Binance takes it: plain digits, at most one point, no sign or exponent."""
    text = _required(params, name)
    if not NUMBER.fullmatch(text):
        raise Refused(
            -1100,
            f"Illegal characters found in parameter '{name}'; legal range is "
            "'^([0-9]{1,20})(\\.[0-9]{1,20})?$'.",
        )
    try:
        return Decimal(text)
    except InvalidOperation:
        raise Refused(-1100, f"Illegal characters found in parameter '{name}'.") from None


def _notional(qty: Decimal, price: Decimal) -> None:
    if qty * price < MIN_NOTIONAL:
        raise Refused(-1013, "Filter failure: NOTIONAL")


def _on_tick(price: Decimal, tick: Decimal) -> Decimal:
    return (price / tick).to_integral_value(ROUND_HALF_EVEN) * tick


def _json(value: Any) -> str:
    return orjson.dumps(value).decode()
