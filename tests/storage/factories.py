"""Real domain objects for the storage tests, with money that a float could not hold."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from typing import Any

from trading_bot.core.model import (
    Direction,
    Fill,
    Order,
    OrderRole,
    OrderStatus,
    OrderType,
    Position,
    Side,
    Trade,
)


def order(client_order_id: str = "bot-1", created_time: int = 1_000, **changes: Any) -> Order:
    return replace(
        Order(
            client_order_id=client_order_id,
            symbol="BTCUSDT",
            side=Side.BUY,
            type=OrderType.LIMIT,
            qty=Decimal("0.00000001"),
            role=OrderRole.ENTRY,
            created_time=created_time,
            price=Decimal("12345678.123456789"),
            reason="sweep of the Asian low",
            status=OrderStatus.SUBMITTED,
            updated_time=created_time,
        ),
        **changes,
    )


def fill(client_order_id: str = "bot-1", time: int = 2_000) -> Fill:
    return Fill(
        client_order_id=client_order_id,
        symbol="BTCUSDT",
        side=Side.BUY,
        qty=Decimal("0.00000001"),
        price=Decimal("12345678.123456789"),
        fee=Decimal("0.000000000123"),
        time=time,
        role=OrderRole.ENTRY,
        reason="limit touched",
    )


def trade(exit_time: int = 3_000, pnl: str = "-0.00000001") -> Trade:
    return Trade(
        symbol="BTCUSDT",
        side=Direction.SHORT,
        entry_time=1_000,
        exit_time=exit_time,
        entry_price=Decimal("12345678.123456789"),
        exit_price=Decimal("12345678.123456790"),
        qty=Decimal("0.00000001"),
        pnl=Decimal(pnl),
        fees=Decimal("0"),
        exit_reason="stop_loss",
    )


def position(symbol: str = "BTCUSDT", qty: str = "-0.00000001") -> Position:
    return Position(
        symbol=symbol,
        qty=Decimal(qty),
        avg_price=Decimal("12345678.123456789"),
        opened_time=1_000,
        entry_fees=Decimal("0.000000000123"),
        realized_pnl=Decimal("-7.5"),
        last_price=12345678.5,
    )
