"""The database tables, as SQLAlchemy declarative models.

Columns carry the field names of the domain objects they store (`Order`, `Fill`, `Position`,
`Trade`), so rows and objects convert field by field. Times are epoch milliseconds; money is
`Decimal`, stored exactly. A change here needs a new migration in `migrations/versions/`.
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import Any, ClassVar, TypeVar

from sqlalchemy import BigInteger, Dialect, Double, Integer, MetaData, Numeric, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator, TypeEngine

from trading_bot.core.model import Direction, OrderRole, OrderStatus, OrderType, Side

E = TypeVar("E", bound=StrEnum)


class Money(TypeDecorator[Decimal]):
    """A `Decimal` that round-trips exactly: NUMERIC on PostgreSQL, text on SQLite (whose
    NUMERIC affinity would turn it into a binary float)."""

    impl = String
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(Numeric(asdecimal=True))
        return dialect.type_descriptor(String())

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> Decimal | str | None:
        if value is None or dialect.name == "postgresql":
            return value
        return str(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        return None if value is None else Decimal(value)


class EnumText(TypeDecorator[E]):
    """A `StrEnum` stored as its value, readable in plain SQL and free of database enum types."""

    impl = String
    cache_ok = True

    def __init__(self, enum_class: type[E]) -> None:
        super().__init__()
        self.enum_class = enum_class

    def process_bind_param(self, value: E | str | None, dialect: Dialect) -> str | None:
        return None if value is None else self.enum_class(value).value

    def process_result_value(self, value: str | None, dialect: Dialect) -> E | None:
        return None if value is None else self.enum_class(value)


class Base(DeclarativeBase):
    # Named constraints, so later migrations can refer to them on every backend.
    metadata = MetaData(
        naming_convention={
            "pk": "pk_%(table_name)s",
            "uq": "uq_%(table_name)s_%(column_0_name)s",
            "ix": "ix_%(table_name)s_%(column_0_name)s",
        }
    )
    type_annotation_map: ClassVar[dict[Any, TypeEngine[Any]]] = {
        int: BigInteger(),
        float: Double(),
        str: String(),
        Decimal: Money(),
        Side: EnumText(Side),
        Direction: EnumText(Direction),
        OrderType: EnumText(OrderType),
        OrderRole: EnumText(OrderRole),
        OrderStatus: EnumText(OrderStatus),
    }


class OrderRow(Base):
    __tablename__ = "orders"

    client_order_id: Mapped[str] = mapped_column(primary_key=True)
    symbol: Mapped[str]
    side: Mapped[Side]
    type: Mapped[OrderType]
    qty: Mapped[Decimal]
    price: Mapped[Decimal | None]
    stop_loss: Mapped[Decimal | None]
    take_profit: Mapped[Decimal | None]
    expires: Mapped[int | None]
    role: Mapped[OrderRole]
    status: Mapped[OrderStatus] = mapped_column(index=True)
    filled_qty: Mapped[Decimal]
    avg_fill_price: Mapped[Decimal]
    parent_id: Mapped[str | None]
    oco_id: Mapped[str | None]
    reason: Mapped[str]
    created_time: Mapped[int]
    updated_time: Mapped[int]
    venue_order_id: Mapped[str | None]


class FillRow(Base):
    """`fill_id` ("<client order id>:<n>", n counting the order's fills) makes re-saving a
    batch harmless: two genuine fills may share order, time, quantity and price."""

    __tablename__ = "fills"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    fill_id: Mapped[str] = mapped_column(unique=True)
    client_order_id: Mapped[str] = mapped_column(index=True)
    symbol: Mapped[str]
    side: Mapped[Side]
    qty: Mapped[Decimal]
    price: Mapped[Decimal]
    fee: Mapped[Decimal]
    time: Mapped[int]
    role: Mapped[OrderRole]
    reason: Mapped[str]
    fee_qty: Mapped[Decimal] = mapped_column(server_default="0")


class TradeRow(Base):
    __tablename__ = "trades"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    symbol: Mapped[str]
    side: Mapped[Direction]
    entry_time: Mapped[int]
    exit_time: Mapped[int]
    entry_price: Mapped[Decimal]
    exit_price: Mapped[Decimal]
    qty: Mapped[Decimal]
    pnl: Mapped[Decimal]
    fees: Mapped[Decimal]
    exit_reason: Mapped[str]
    entry_reason: Mapped[str]


class EquityRow(Base):
    __tablename__ = "equity"

    time: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    equity: Mapped[float]
    cash: Mapped[float]


class PositionRow(Base):
    """Open positions only: a position that went flat has no row."""

    __tablename__ = "positions"

    symbol: Mapped[str] = mapped_column(primary_key=True)
    qty: Mapped[Decimal]
    avg_price: Mapped[Decimal]
    opened_time: Mapped[int]
    entry_fees: Mapped[Decimal]
    realized_pnl: Mapped[Decimal]
    last_price: Mapped[float]
    entry_reason: Mapped[str]


class BotStateRow(Base):
    """Small pieces of bot state that must survive a restart (paused, kill-switch day, ...)."""

    __tablename__ = "bot_state"

    key: Mapped[str] = mapped_column(primary_key=True)
    value: Mapped[str] = mapped_column(Text)  # JSON
