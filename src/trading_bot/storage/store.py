"""StateStore: writes recorded batches and reads the bot's state back at start."""

from __future__ import annotations

import json
from dataclasses import fields
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import Connection, delete, func, select
from sqlalchemy.dialects import postgresql, sqlite

from trading_bot.core.model import Fill, Order, OrderStatus, Position, Trade
from trading_bot.storage.batch import RecordBatch
from trading_bot.storage.database import Database
from trading_bot.storage.schema import (
    Base,
    BotStateRow,
    EquityRow,
    FillRow,
    OrderRow,
    PositionRow,
    TradeRow,
)

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

T = TypeVar("T", bound="DataclassInstance")
Rows = list[dict[str, Any]]

_OPEN_STATUSES = [status for status in OrderStatus if status.is_open]


class StateStore:
    """The bot's repository. Methods are blocking: call them from a worker thread
    (`asyncio.to_thread`) while the bot runs. Errors are `StorageError`."""

    def __init__(self, database: Database) -> None:
        self._database = database

    def save(self, batch: RecordBatch) -> None:
        """Write the batch in one transaction: all of it or, if anything fails, none of it.
        Saving the same batch again changes nothing but the trades, which it would repeat."""
        open_positions = [p for p in batch.positions.values() if p.is_open]
        flat_symbols = [p.symbol for p in batch.positions.values() if not p.is_open]
        with self._database.begin() as connection:
            self._upsert(connection, OrderRow, [_row(o) for o in batch.orders.values()])
            fills = [{**_row(f), "fill_id": i} for i, f in batch.fills.items()]
            if fills:
                statement = self._insert(FillRow).on_conflict_do_nothing(index_elements=["fill_id"])
                connection.execute(statement, fills)
            if batch.trades:
                connection.execute(self._insert(TradeRow), [_row(t) for t in batch.trades])
            equity = [{"time": t, "equity": e, "cash": c} for t, (e, c) in batch.equity.items()]
            self._upsert(connection, EquityRow, equity)
            self._upsert(connection, PositionRow, [_row(p) for p in open_positions])
            if flat_symbols:
                connection.execute(delete(PositionRow).where(PositionRow.symbol.in_(flat_symbols)))
            state = [{"key": k, "value": v} for k, v in batch.state.items()]
            self._upsert(connection, BotStateRow, state)

    def load_positions(self) -> list[Position]:
        with self._database.connect() as connection:
            rows = connection.execute(select(PositionRow).order_by(PositionRow.symbol))
            return [_domain(Position, row) for row in rows]

    def load_orders(self, open_only: bool = True) -> list[Order]:
        """Orders in the order they were created; only the still open ones by default."""
        query = select(OrderRow).order_by(OrderRow.created_time, OrderRow.client_order_id)
        if open_only:
            query = query.where(OrderRow.status.in_(_OPEN_STATUSES))
        with self._database.connect() as connection:
            return [_domain(Order, row) for row in connection.execute(query)]

    def load_trades(self, limit: int | None = None, skip_latest: int = 0) -> list[Trade]:
        """Trades oldest first; with `limit`, the latest `limit` of them, after leaving out the
        `skip_latest` newest (pages back from now)."""
        query = select(TradeRow).order_by(TradeRow.exit_time.desc(), TradeRow.id.desc())
        with self._database.connect() as connection:
            rows = connection.execute(query.limit(limit).offset(skip_latest or None)).all()
        return [_domain(Trade, row) for row in reversed(rows)]

    def trade_count(self) -> int:
        with self._database.connect() as connection:
            return connection.execute(select(func.count()).select_from(TradeRow)).scalar_one()

    def load_fills(self) -> list[Fill]:
        """Every fill, in the order it was saved."""
        with self._database.connect() as connection:
            return [
                _domain(Fill, row)
                for row in connection.execute(select(FillRow).order_by(FillRow.id))
            ]

    def load_equity(
        self, since: int | None = None, limit: int | None = None
    ) -> list[tuple[int, float, float]]:
        """(time, equity, cash), oldest first; from `since` (epoch ms) on, the latest `limit`."""
        query = select(EquityRow.time, EquityRow.equity, EquityRow.cash)
        if since is not None:
            query = query.where(EquityRow.time >= since)
        query = query.order_by(EquityRow.time.desc()).limit(limit)
        with self._database.connect() as connection:
            return list(reversed(connection.execute(query).tuples().all()))

    def get_state(self, key: str) -> Any | None:
        """The saved value of a piece of bot state, or None if it was never saved."""
        query = select(BotStateRow.value).where(BotStateRow.key == key)
        with self._database.connect() as connection:
            value = connection.execute(query).scalar_one_or_none()
        return None if value is None else json.loads(value)

    def order_count(self) -> int:
        """How many orders were ever saved, to continue client order id numbering."""
        with self._database.connect() as connection:
            return connection.execute(select(func.count()).select_from(OrderRow)).scalar_one()

    def fill_counts(self) -> dict[str, int]:
        """Fills saved per client order id, to seed `Recorder(fill_counts=...)` at start."""
        query = select(FillRow.client_order_id, func.count()).group_by(FillRow.client_order_id)
        with self._database.connect() as connection:
            return dict(connection.execute(query).tuples().all())

    def _insert(self, entity: type[Base]) -> postgresql.Insert | sqlite.Insert:
        """The dialect's INSERT, which alone knows ON CONFLICT."""
        if self._database.dialect == "postgresql":
            return postgresql.insert(entity)
        return sqlite.insert(entity)

    def _upsert(self, connection: Connection, entity: type[Base], rows: Rows) -> None:
        """Insert the rows (one executemany), replacing those whose primary key exists."""
        if not rows:
            return
        statement = self._insert(entity)
        key = [column.name for column in entity.__table__.primary_key]
        replaced = {name: statement.excluded[name] for name in rows[0] if name not in key}
        connection.execute(statement.on_conflict_do_update(index_elements=key, set_=replaced), rows)


def _row(item: DataclassInstance) -> dict[str, Any]:
    """Column values of a domain object: the columns bear its field names."""
    return {f.name: getattr(item, f.name) for f in fields(item)}


def _domain(cls: type[T], row: Any) -> T:
    return cls(**{f.name: getattr(row, f.name) for f in fields(cls)})
