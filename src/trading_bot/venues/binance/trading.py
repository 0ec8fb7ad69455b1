"""Binance spot trading over SIGNED REST: orders placed exactly once, under our client order ids.

`BinanceTrading` places MARKET, LIMIT (GTC) and STOP_LOSS_LIMIT orders and OCO pairs
(`POST /api/v3/orderList/oco`), cancels and queries orders by client order id, and reads open
orders, the account's trades and balances. Our symbols ("BTC/USDT") become Binance's, and prices
and quantities are put on the instrument's grid (prices to the nearest tick, quantities down to
the lot step) and written as plain decimals: never floats, never scientific notation.

Exactly once (`place`, `place_oco`, `cancel`): a new order whose answer is lost (a timeout, a
dropped connection, a 5xx) may or may not exist. It is looked up by its client order id before
anything else, and sent again only when Binance says it does not exist (-2013) and the lost
request can no longer be accepted: a request is refused once its `timestamp + recvWindow` has
passed on Binance's clock, so until then "no such order" is not believed. Sent again, it keeps
its client order id, which Binance refuses while an open order holds it ("Duplicate order
sent."), a second guard. A cancel of unknown fate is checked the same way and repeated only
while the order is still open.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, Decimal
from enum import StrEnum
from typing import TypeVar

import structlog

from trading_bot.core.model import Instrument, Side
from trading_bot.venues.binance.markets import Markets
from trading_bot.venues.binance.rest import BinanceRest, Sleep, binance_message, decode_reply
from trading_bot.venues.binance.schemas import (
    AccountInfo,
    AccountTrade,
    ApiRestrictions,
    VenueOrder,
    VenueOrderList,
)
from trading_bot.venues.errors import (
    InvalidOrder,
    InvalidRequest,
    RateLimited,
    TemporaryError,
    UnknownOutcome,
)

log = structlog.get_logger("trading_bot.binance")

ORDER = "/api/v3/order"
OCO = "/api/v3/orderList/oco"
OPEN_ORDERS = "/api/v3/openOrders"
ACCOUNT = "/api/v3/account"
MY_TRADES = "/api/v3/myTrades"
API_RESTRICTIONS = "/sapi/v1/account/apiRestrictions"

NO_SUCH_ORDER = -2013
CANCEL_REJECTED = -2011
# Binance's rule for client order ids (newClientOrderId and the like).
CLIENT_ORDER_ID = re.compile(r"[.A-Z:/a-z0-9_-]{1,36}")
# Order statuses after which nothing more happens; the unfilled ones among them.
FINAL = frozenset({"FILLED", "CANCELED", "REJECTED", "EXPIRED", "EXPIRED_IN_MATCH"})
ENDED_UNFILLED = FINAL - {"FILLED"}
# Extra wait past a lost request's recvWindow before "no such order" is believed.
WINDOW_MARGIN_MS = 1_000
TRADES_LIMIT = 1000

T = TypeVar("T")
Pair = tuple[str, str]


class VenueOrderType(StrEnum):
    MARKET = "MARKET"
    LIMIT = "LIMIT"
    STOP_LOSS_LIMIT = "STOP_LOSS_LIMIT"
    LIMIT_MAKER = "LIMIT_MAKER"


@dataclass(frozen=True, slots=True)
class OrderSpec:
    """One Binance order in our terms. `price` is the limit (LIMIT, STOP_LOSS_LIMIT),
    `stop_price` the trigger (STOP_LOSS_LIMIT). Without a `client_order_id` Binance makes one
    up, and the order cannot be placed exactly once (`place` refuses it)."""

    symbol: str
    side: Side
    type: VenueOrderType
    quantity: Decimal
    client_order_id: str | None
    price: Decimal | None = None
    stop_price: Decimal | None = None
    time_in_force: str = "GTC"


@dataclass(frozen=True, slots=True)
class OcoSpec:
    """A stop-loss and a take-profit for the same quantity, one cancelling the other: the stop
    as STOP_LOSS_LIMIT (`stop_price` trigger, `stop_limit_price` limit), the target as
    LIMIT_MAKER at `target_price`. A SELL pair protects a long position: target above, stop
    below."""

    symbol: str
    side: Side
    quantity: Decimal
    stop_client_order_id: str
    stop_price: Decimal
    stop_limit_price: Decimal
    target_client_order_id: str
    target_price: Decimal

    @property
    def list_client_order_id(self) -> str:
        """The same for the same pair, so that a resent pair keeps its list id too."""
        pair = f"{self.stop_client_order_id}|{self.target_client_order_id}"
        return "oco-" + hashlib.sha256(pair.encode()).hexdigest()[:32]


def check_client_order_id(client_order_id: str) -> str:
    """The id, if Binance accepts it: 1 to 36 of letters, digits and `.:/_-`."""
    if not CLIENT_ORDER_ID.fullmatch(client_order_id):
        raise ValueError(
            f"client order id {client_order_id!r} is not valid on Binance: use 1 to 36 "
            "letters, digits or the characters . : / _ -"
        )
    return client_order_id


def plain(value: Decimal) -> str:
    """A decimal as Binance takes it: digits and a point, no exponent, no trailing zeros."""
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "0") else text


def price_text(instrument: Instrument, price: Decimal) -> str:
    """A price on the instrument's tick grid (the nearest tick), as plain text."""
    if price <= 0:
        raise ValueError(f"price {price} is not positive")
    return plain(_on_grid(price, instrument.tick_size, ROUND_HALF_EVEN))


def quantity_text(instrument: Instrument, quantity: Decimal) -> str:
    """A quantity on the instrument's lot grid (rounded down: never more than sized)."""
    on_grid = _on_grid(quantity, instrument.lot_step, ROUND_DOWN)
    if on_grid <= 0:
        raise ValueError(f"quantity {quantity} rounds to zero at lot step {instrument.lot_step}")
    return plain(on_grid)


def _on_grid(value: Decimal, step: Decimal, rounding: str) -> Decimal:
    return (value / step).to_integral_value(rounding) * step


class BinanceTrading:
    """Signed trading calls on `rest` (which needs credentials). `attempts` bounds the sends of
    one order and the failed look-ups of one order's fate; `sleep` waits out a lost request's
    recvWindow (tests pass a simulated one)."""

    def __init__(
        self,
        rest: BinanceRest,
        markets: Markets,
        *,
        attempts: int = 5,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if attempts < 2:
            raise ValueError("attempts must be at least 2: a lost order is looked up, then resent")
        self.rest = rest
        self.markets = markets
        self.attempts = attempts
        self._sleep = sleep
        self.resends = 0  # orders sent again after Binance said they did not exist
        self.lookups = 0  # orders looked up after an unknown outcome

    # -- request parameters -------------------------------------------------------------------

    def order_params(self, spec: OrderSpec, response_type: str | None = "FULL") -> list[Pair]:
        """`POST /api/v3/order` parameters, in the order of Binance's examples."""
        market = self.markets.market(spec.symbol)
        instrument = market.instrument
        params: list[Pair] = [
            ("symbol", market.venue_symbol),
            ("side", spec.side.value.upper()),
            ("type", spec.type.value),
        ]
        if spec.type is not VenueOrderType.MARKET and spec.type is not VenueOrderType.LIMIT_MAKER:
            params.append(("timeInForce", spec.time_in_force))
        params.append(("quantity", quantity_text(instrument, spec.quantity)))
        if spec.type is not VenueOrderType.MARKET:
            if spec.price is None:
                raise ValueError(f"a {spec.type} order needs a limit price")
            params.append(("price", price_text(instrument, spec.price)))
        if spec.type is VenueOrderType.STOP_LOSS_LIMIT:
            if spec.stop_price is None:
                raise ValueError("a STOP_LOSS_LIMIT order needs a stop price")
            params.append(("stopPrice", price_text(instrument, spec.stop_price)))
        if spec.client_order_id is not None:
            params.append(("newClientOrderId", check_client_order_id(spec.client_order_id)))
        if response_type is not None:
            params.append(("newOrderRespType", response_type))
        return params

    def oco_params(self, spec: OcoSpec) -> list[Pair]:
        """`POST /api/v3/orderList/oco` parameters: the stop below and the target above for a
        SELL pair, the other way round for a BUY pair."""
        market = self.markets.market(spec.symbol)
        instrument = market.instrument
        stop: list[Pair] = [
            ("Type", VenueOrderType.STOP_LOSS_LIMIT.value),
            ("ClientOrderId", check_client_order_id(spec.stop_client_order_id)),
            ("Price", price_text(instrument, spec.stop_limit_price)),
            ("StopPrice", price_text(instrument, spec.stop_price)),
            ("TimeInForce", "GTC"),
        ]
        target: list[Pair] = [
            ("Type", VenueOrderType.LIMIT_MAKER.value),
            ("ClientOrderId", check_client_order_id(spec.target_client_order_id)),
            ("Price", price_text(instrument, spec.target_price)),
        ]
        above, below = (target, stop) if spec.side is Side.SELL else (stop, target)
        return [
            ("symbol", market.venue_symbol),
            ("listClientOrderId", spec.list_client_order_id),
            ("side", spec.side.value.upper()),
            ("quantity", quantity_text(instrument, spec.quantity)),
            *(("above" + name, value) for name, value in above),
            *(("below" + name, value) for name, value in below),
            ("newOrderRespType", "FULL"),
        ]

    # -- single requests ----------------------------------------------------------------------

    async def new_order(
        self,
        spec: OrderSpec,
        response_type: str | None = "FULL",
        timestamps: list[int] | None = None,
    ) -> VenueOrder:
        """One `POST /api/v3/order`, as it comes: an unknown outcome raises UnknownOutcome."""
        params = self.order_params(spec, response_type)
        body = await self.rest.signed("POST", ORDER, params, write=True, timestamps=timestamps)
        return decode_reply(ORDER, body, VenueOrder)

    async def new_oco(self, spec: OcoSpec, timestamps: list[int] | None = None) -> VenueOrderList:
        body = await self.rest.signed(
            "POST", OCO, self.oco_params(spec), write=True, timestamps=timestamps
        )
        return decode_reply(OCO, body, VenueOrderList)

    async def cancel_order(self, symbol: str, client_order_id: str) -> VenueOrder:
        """One `DELETE /api/v3/order`. Cancelling one order of an OCO cancels both."""
        params = [
            ("symbol", self.markets.venue_symbol(symbol)),
            ("origClientOrderId", client_order_id),
        ]
        body = await self.rest.signed("DELETE", ORDER, params, write=True)
        return decode_reply(ORDER, body, VenueOrder)

    async def query_order(self, symbol: str, client_order_id: str) -> VenueOrder | None:
        """The order with this client order id, or None when Binance has none (-2013)."""
        params = [
            ("symbol", self.markets.venue_symbol(symbol)),
            ("origClientOrderId", client_order_id),
        ]
        try:
            body = await self.rest.signed("GET", ORDER, params, weight=4)
        except InvalidRequest as exc:
            if exc.code == NO_SUCH_ORDER:
                return None
            raise
        return decode_reply(ORDER, body, VenueOrder)

    async def open_orders(self, symbol: str | None = None) -> list[VenueOrder]:
        params = [] if symbol is None else [("symbol", self.markets.venue_symbol(symbol))]
        body = await self.rest.signed("GET", OPEN_ORDERS, params, weight=6 if symbol else 80)
        return decode_reply(OPEN_ORDERS, body, list[VenueOrder])

    async def my_trades(
        self,
        symbol: str,
        *,
        order_id: int | None = None,
        from_id: int | None = None,
        limit: int = TRADES_LIMIT,
    ) -> list[AccountTrade]:
        """The account's trades in `symbol`, oldest first: of one order (`order_id`), or from
        the trade id `from_id` on, or the latest `limit`."""
        params: list[Pair] = [("symbol", self.markets.venue_symbol(symbol))]
        if order_id is not None:
            params.append(("orderId", str(order_id)))
        if from_id is not None:
            params.append(("fromId", str(from_id)))
        params.append(("limit", str(limit)))
        body = await self.rest.signed("GET", MY_TRADES, params, weight=5 if order_id else 20)
        return decode_reply(MY_TRADES, body, list[AccountTrade])

    async def order_trades(self, symbol: str, order_id: int) -> list[AccountTrade]:
        """Every trade of one order, however many pages."""
        trades: list[AccountTrade] = []
        from_id: int | None = None
        while True:
            page = await self.my_trades(symbol, order_id=order_id, from_id=from_id)
            trades += page
            if len(page) < TRADES_LIMIT:
                return trades
            from_id = page[-1].id + 1

    async def account(self) -> AccountInfo:
        """Balances (those not zero) and what the account may do."""
        body = await self.rest.signed("GET", ACCOUNT, [("omitZeroBalances", "true")], weight=20)
        return decode_reply(ACCOUNT, body, AccountInfo)

    async def api_restrictions(self) -> ApiRestrictions:
        body = await self.rest.signed("GET", API_RESTRICTIONS)
        return decode_reply(API_RESTRICTIONS, body, ApiRestrictions)

    # -- exactly once -------------------------------------------------------------------------

    async def place(self, spec: OrderSpec, *, resume: bool = False) -> VenueOrder:
        """Place the order exactly once and return it as Binance has it. `resume`: an earlier
        attempt's fate is unknown, so look it up before sending anything.

        Raises InvalidOrder / InvalidRequest / AuthError / RateLimited when Binance refused it,
        TemporaryError when it certainly was not placed after `attempts` sends, and
        UnknownOutcome when its fate could not be learned (look it up later: `resume`)."""
        if spec.client_order_id is None:
            raise ValueError("an order placed exactly once needs a client order id")
        cid = spec.client_order_id
        self.order_params(spec)  # a spec that cannot be sent fails here, before any request

        async def send(timestamps: list[int]) -> VenueOrder:
            return await self.new_order(spec, timestamps=timestamps)

        async def look_up() -> VenueOrder | None:
            return await self.query_order(spec.symbol, cid)

        return await self._exactly_once(f"order {cid}", send, look_up, resume)

    async def place_oco(
        self, spec: OcoSpec, *, resume: bool = False
    ) -> tuple[VenueOrder, VenueOrder]:
        """Place the pair exactly once; return (stop, target) as Binance has them. Raises as
        `place` does."""
        self.oco_params(spec)
        stop_id, target_id = spec.stop_client_order_id, spec.target_client_order_id

        async def send(timestamps: list[int]) -> tuple[VenueOrder, VenueOrder]:
            placed = await self.new_oco(spec, timestamps)
            reports = {r.client_order_id: r for r in placed.order_reports}
            legs = {leg.client_order_id: leg for leg in placed.orders}
            found = []
            for cid in (stop_id, target_id):
                report = reports.get(cid)
                if report is None:  # a terse answer: the leg's ids only
                    leg = legs[cid]
                    report = VenueOrder(
                        leg.symbol, leg.order_id, cid, order_list_id=placed.order_list_id
                    )
                found.append(report)
            return found[0], found[1]

        async def look_up() -> tuple[VenueOrder, VenueOrder] | None:
            # the legs are created together or not at all
            stop = await self.query_order(spec.symbol, stop_id)
            if stop is None:
                return None
            target = await self.query_order(spec.symbol, target_id)
            if target is None:
                raise UnknownOutcome(f"OCO leg {target_id} missing while {stop_id} exists")
            return stop, target

        return await self._exactly_once(f"OCO {stop_id}/{target_id}", send, look_up, resume)

    async def find(self, symbol: str, client_order_id: str, sent_at_ms: int) -> VenueOrder | None:
        """The order, or None once Binance says it has none and a request sent at
        `sent_at_ms` (Binance's clock) could no longer be accepted. UnknownOutcome if Binance
        cannot be asked."""

        async def look_up() -> VenueOrder | None:
            return await self.query_order(symbol, client_order_id)

        return await self._look_up(f"order {client_order_id}", sent_at_ms, look_up)

    async def cancel(self, symbol: str, client_order_id: str) -> VenueOrder | None:
        """Cancel the order, checking a cancel of unknown fate; return the order as it ended:
        CANCELED, or what it had become if it was no longer open (FILLED, EXPIRED, ...), or None
        when Binance has no such order. UnknownOutcome when that cannot be learned."""
        what = f"cancel of {client_order_id}"
        for attempt in range(1, self.attempts + 1):
            try:
                return await self.cancel_order(symbol, client_order_id)
            except RateLimited:
                raise
            except InvalidRequest as exc:
                if exc.code != CANCEL_REJECTED:
                    raise
                log.info("binance did not cancel; the order is not open", order=client_order_id)
            except (UnknownOutcome, TemporaryError) as exc:
                log.warning("binance cancel outcome unknown; checking", what=what, error=str(exc))
            state = await self._look_up(what, 0, lambda: self.query_order(symbol, client_order_id))
            if state is None or state.status in FINAL:
                return state
            log.warning("binance order still open after a cancel; cancelling again", what=what)
            if attempt < self.attempts:
                await self._sleep(self._retry_s(attempt))
        raise UnknownOutcome(f"{what}: the order is still open after {self.attempts} tries")

    async def _exactly_once(
        self,
        what: str,
        send: Callable[[list[int]], Awaitable[T]],
        look_up: Callable[[], Awaitable[T | None]],
        resume: bool,
    ) -> T:
        sent_at = self.rest.server_now_ms()  # resuming: as if sent now (to be sure)
        for attempt in range(1, self.attempts + 1):
            if not resume:
                timestamps: list[int] = []
                try:
                    return await send(timestamps)
                except RateLimited:
                    raise  # refused unprocessed, and sending more would get the IP banned
                except InvalidOrder as exc:
                    if "duplicate" not in binance_message(exc).lower():
                        raise
                    log.warning("binance has this client order id already", what=what)
                except (UnknownOutcome, TemporaryError) as exc:
                    log.warning(
                        "binance order outcome unknown; looking it up", what=what, error=str(exc)
                    )
                sent_at = max(timestamps, default=self.rest.server_now_ms())
            resume = False
            self.lookups += 1
            found = await self._look_up(what, sent_at, look_up)
            if found is not None:
                return found
            if attempt < self.attempts:
                self.resends += 1
                log.warning("binance has no such order; sending it again", what=what)
        raise TemporaryError(f"{what}: not placed after {self.attempts} tries")

    async def _look_up(
        self, what: str, sent_at_ms: int, look_up: Callable[[], Awaitable[T | None]]
    ) -> T | None:
        failures = 0
        while True:
            try:
                found = await look_up()
            except (TemporaryError, UnknownOutcome) as exc:
                failures += 1
                if failures >= self.attempts:
                    raise UnknownOutcome(
                        f"{what}: fate unknown, and Binance cannot be asked ({exc})"
                    ) from exc
                await self._sleep(self._retry_s(failures))
                continue
            if found is not None:
                return found
            wait_ms = sent_at_ms + self.rest.settings.recv_window_ms + WINDOW_MARGIN_MS
            wait_ms -= self.rest.server_now_ms()
            if wait_ms <= 0:
                return None
            # the lost request may still be on its way: ask again once it no longer can be
            await self._sleep(wait_ms / 1000)

    def _retry_s(self, attempt: int) -> float:
        return float(self.rest.settings.rest_retry_s * 2 ** (attempt - 1))
