"""The fake Binance's book of record, and how Binance writes it on the wire.

Orders, trades and OCO lists as `FakeBinanceTrading` keeps them, and their JSON shapes from
Binance's documentation: a new order's FULL answer, an order as queried, a cancel's answer, a
row of myTrades, and the user data events (`executionReport`, `listStatus`,
`outboundAccountPosition`). Numbers go out as Binance writes them: strings with 8 decimals.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

ZERO = Decimal(0)
WORKING = ("NEW", "PARTIALLY_FILLED")


@dataclass(eq=False)
class Lock:
    """Balance an open order (or an OCO's two) holds: `per_unit` of `asset` per unit filled."""

    asset: str
    per_unit: Decimal
    remaining: Decimal


@dataclass(eq=False)
class FakeOrder:
    order_id: int
    client_order_id: str
    symbol: str
    side: str
    type: str
    quantity: Decimal
    price: Decimal
    stop_price: Decimal
    time_in_force: str
    time: int
    order_list_id: int = -1
    status: str = "NEW"
    executed: Decimal = ZERO
    quote: Decimal = ZERO
    update_time: int = 0
    triggered: bool = False
    lock: Lock | None = field(default=None, repr=False)

    @property
    def working(self) -> bool:
        return self.status in WORKING

    @property
    def is_on_book(self) -> bool:
        """A stop-limit joins the book once triggered."""
        return self.type != "STOP_LOSS_LIMIT" or self.triggered


@dataclass(frozen=True)
class FakeTrade:
    id: int
    symbol: str
    order_id: int
    order_list_id: int
    price: Decimal
    qty: Decimal
    commission: Decimal
    commission_asset: str
    time: int
    is_buyer: bool
    is_maker: bool


@dataclass(eq=False)
class OrderList:
    order_list_id: int
    list_client_order_id: str
    symbol: str
    orders: list[FakeOrder]
    status: str = "EXECUTING"


def n(value: Decimal) -> str:
    """A number as Binance writes it."""
    return f"{value:.8f}"


def _numbers(order: FakeOrder) -> dict[str, Any]:
    return {
        "price": n(order.price),
        "origQty": n(order.quantity),
        "executedQty": n(order.executed),
        "cummulativeQuoteQty": n(order.quote),
    }


def full_json(order: FakeOrder, trades: Iterable[FakeTrade]) -> dict[str, Any]:
    """A new order's FULL answer, with its `trades` as fills."""
    answer = {
        "symbol": order.symbol,
        "orderId": order.order_id,
        "orderListId": order.order_list_id,
        "clientOrderId": order.client_order_id,
        "transactTime": order.time,
        **_numbers(order),
        "origQuoteOrderQty": n(ZERO),
        "status": order.status,
        "timeInForce": order.time_in_force,
        "type": order.type,
        "side": order.side,
        "workingTime": order.time,
        "selfTradePreventionMode": "NONE",
        "fills": [
            {
                "price": n(t.price),
                "qty": n(t.qty),
                "commission": n(t.commission),
                "commissionAsset": t.commission_asset,
                "tradeId": t.id,
            }
            for t in trades
        ],
    }
    if order.type == "STOP_LOSS_LIMIT":
        answer["stopPrice"] = n(order.stop_price)
    return answer


def order_json(order: FakeOrder) -> dict[str, Any]:
    """An order as `GET /api/v3/order` and the open orders show it."""
    return {
        "symbol": order.symbol,
        "orderId": order.order_id,
        "orderListId": order.order_list_id,
        "clientOrderId": order.client_order_id,
        **_numbers(order),
        "status": order.status,
        "timeInForce": order.time_in_force,
        "type": order.type,
        "side": order.side,
        "stopPrice": n(order.stop_price),
        "icebergQty": n(ZERO),
        "time": order.time,
        "updateTime": order.update_time,
        "isWorking": order.is_on_book,
        "workingTime": order.time,
        "origQuoteOrderQty": n(ZERO),
        "selfTradePreventionMode": "NONE",
    }


def cancel_json(order: FakeOrder, cancel_id: str, now: int) -> dict[str, Any]:
    """The answer to `DELETE /api/v3/order`: `clientOrderId` is the cancel's own id."""
    return {
        "symbol": order.symbol,
        "origClientOrderId": order.client_order_id,
        "orderId": order.order_id,
        "orderListId": order.order_list_id,
        "clientOrderId": cancel_id,
        "transactTime": now,
        **_numbers(order),
        "status": order.status,
        "timeInForce": order.time_in_force,
        "type": order.type,
        "side": order.side,
        "selfTradePreventionMode": "NONE",
    }


def list_json(order_list: OrderList, now: int, trades: Iterable[FakeTrade]) -> dict[str, Any]:
    """A new OCO's answer, with a report of each of its orders."""
    done = list(trades)
    return {
        "orderListId": order_list.order_list_id,
        "contingencyType": "OCO",
        "listStatusType": "EXEC_STARTED",
        "listOrderStatus": "EXECUTING",
        "listClientOrderId": order_list.list_client_order_id,
        "transactionTime": now,
        "symbol": order_list.symbol,
        "orders": [
            {"symbol": o.symbol, "orderId": o.order_id, "clientOrderId": o.client_order_id}
            for o in order_list.orders
        ],
        "orderReports": [
            full_json(o, [t for t in done if t.order_id == o.order_id]) for o in order_list.orders
        ],
    }


def trade_json(trade: FakeTrade) -> dict[str, Any]:
    """A row of `GET /api/v3/myTrades`."""
    return {
        "symbol": trade.symbol,
        "id": trade.id,
        "orderId": trade.order_id,
        "orderListId": trade.order_list_id,
        "price": n(trade.price),
        "qty": n(trade.qty),
        "quoteQty": n(trade.price * trade.qty),
        "commission": n(trade.commission),
        "commissionAsset": trade.commission_asset,
        "time": trade.time,
        "isBuyer": trade.is_buyer,
        "isMaker": trade.is_maker,
        "isBestMatch": True,
    }


def execution_report(
    order: FakeOrder,
    execution: str,
    now: int,
    *,
    trade: FakeTrade | None = None,
    cancel_id: str = "",
) -> dict[str, Any]:
    """The `executionReport` of an order's change: `execution` is what happened (NEW, TRADE,
    CANCELED, EXPIRED); a cancel's `c` is the cancel's own id and `C` the order's."""
    return {
        "e": "executionReport",
        "E": now,
        "s": order.symbol,
        "c": cancel_id or order.client_order_id,
        "S": order.side,
        "o": order.type,
        "f": order.time_in_force,
        "q": n(order.quantity),
        "p": n(order.price),
        "P": n(order.stop_price),
        "F": n(ZERO),
        "g": order.order_list_id,
        "C": order.client_order_id if cancel_id else "",
        "x": execution,
        "X": order.status,
        "r": "NONE",
        "i": order.order_id,
        "l": n(trade.qty if trade else ZERO),
        "z": n(order.executed),
        "L": n(trade.price if trade else ZERO),
        "n": n(trade.commission) if trade else "0",
        "N": trade.commission_asset if trade else None,
        "T": trade.time if trade else now,
        "t": trade.id if trade else -1,
        "I": now,
        "w": order.working and order.is_on_book,
        "m": trade.is_maker if trade else False,
        "M": False,
        "O": order.time,
        "Z": n(order.quote),
        "Y": n(trade.qty * trade.price if trade else ZERO),
        "Q": n(ZERO),
        "W": order.time,
        "V": "NONE",
    }


def list_status(order_list: OrderList, status_type: str, now: int) -> dict[str, Any]:
    """The `listStatus` event of an OCO: EXEC_STARTED, then ALL_DONE."""
    return {
        "e": "listStatus",
        "E": now,
        "s": order_list.symbol,
        "g": order_list.order_list_id,
        "c": "OCO",
        "l": status_type,
        "L": "EXECUTING" if status_type == "EXEC_STARTED" else "ALL_DONE",
        "r": "NONE",
        "C": order_list.list_client_order_id,
        "T": now,
        "O": [{"s": o.symbol, "i": o.order_id, "c": o.client_order_id} for o in order_list.orders],
    }


def account_position(
    free: Mapping[str, Decimal], locked: Mapping[str, Decimal], assets: Iterable[str], now: int
) -> dict[str, Any]:
    """The `outboundAccountPosition` event: the balances of the assets that changed."""
    balances = [{"a": a, "f": n(free.get(a, ZERO)), "l": n(locked.get(a, ZERO))} for a in assets]
    return {"e": "outboundAccountPosition", "E": now, "u": now, "B": balances}
