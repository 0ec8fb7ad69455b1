from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest
from sqlalchemy import event

from trading_bot.core.model import OrderStatus
from trading_bot.storage import Database, RecordBatch, StateStore, StorageError

from . import factories


def test_money_round_trips_exactly(store: StateStore) -> None:
    tiny, large = Decimal("0.00000001"), Decimal("12345678.123456789")
    order = factories.order(qty=tiny, price=large, filled_qty=tiny, avg_fill_price=large)
    batch = RecordBatch()
    batch.add_order(order)
    batch.add_position(factories.position())
    batch.add_trade(factories.trade())
    store.save(batch)

    [loaded] = store.load_orders()
    assert loaded == order
    assert (loaded.qty, loaded.price, loaded.avg_fill_price) == (tiny, large, large)
    assert store.load_positions() == [factories.position()]
    assert store.load_trades() == [factories.trade()]


def test_orders_are_upserted_by_client_order_id(store: StateStore) -> None:
    first = RecordBatch()
    first.add_order(factories.order("bot-1", created_time=1))
    first.add_order(factories.order("bot-2", created_time=2))
    store.save(first)
    assert [o.status for o in store.load_orders()] == [OrderStatus.SUBMITTED] * 2

    filled = factories.order(
        "bot-1",
        created_time=1,
        status=OrderStatus.FILLED,
        filled_qty=Decimal("0.00000001"),
        avg_fill_price=Decimal("100.5"),
        updated_time=5,
        venue_order_id="v-77",
    )
    second = RecordBatch()
    second.add_order(filled)
    store.save(second)

    assert [o.client_order_id for o in store.load_orders()] == ["bot-2"]
    assert store.load_orders(open_only=False) == [filled, factories.order("bot-2", created_time=2)]
    assert store.order_count() == 2


def test_saving_the_same_fills_twice_keeps_one_row_each(store: StateStore) -> None:
    batch = RecordBatch()
    # Two genuine fills identical in order, time, quantity and price: both must be kept.
    batch.add_fill("bot-1:1", factories.fill())
    batch.add_fill("bot-1:2", factories.fill())
    batch.add_fill("bot-2:1", factories.fill("bot-2"))
    store.save(batch)
    store.save(batch)
    assert store.fill_counts() == {"bot-1": 2, "bot-2": 1}


def test_positions_are_replaced_and_a_flat_one_deleted(store: StateStore) -> None:
    opened = RecordBatch()
    opened.add_position(factories.position("BTCUSDT"))
    opened.add_position(factories.position("ETHUSDT"))
    store.save(opened)

    changed = RecordBatch()
    changed.add_position(factories.position("BTCUSDT", qty="0"))
    changed.add_position(factories.position("ETHUSDT", qty="2.5"))
    store.save(changed)

    assert store.load_positions() == [factories.position("ETHUSDT", qty="2.5")]


def test_bot_state_round_trips_as_json(store: StateStore) -> None:
    value = {"paused": True, "until": None, "symbols": ["BTCUSDT", "EURUSD"], "loss": 1.25}
    batch = RecordBatch()
    batch.set_state("risk", value)
    batch.set_state("mode", "paper")
    store.save(batch)
    assert store.get_state("risk") == value
    assert store.get_state("missing") is None

    again = RecordBatch()
    again.set_state("mode", "live")
    store.save(again)
    assert store.get_state("mode") == "live"
    assert store.get_state("risk") == value


def test_bot_state_that_is_not_json_fails_when_buffered() -> None:
    with pytest.raises(ValueError, match="'limit' must be JSON-serializable"):
        RecordBatch().set_state("limit", Decimal("1.5"))


def test_ten_thousand_equity_rows_are_saved_in_few_statements(
    database: Database, store: StateStore
) -> None:
    rows = [(1_000 * i, 10_000.0 + i / 3, 5_000.0 - i / 7) for i in range(10_000)]
    batch = RecordBatch()
    for time, equity, cash in rows:
        batch.add_equity(time, equity, cash)
    statements: list[str] = []
    engine = database.engine

    def count(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        if "equity" in statement:
            statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    store.save(batch)
    event.remove(engine, "before_cursor_execute", count)

    assert len(statements) <= 10  # one executemany, maybe paged; never one per row
    assert store.load_equity() == rows

    update = RecordBatch()
    update.add_equity(0, 1.5, 2.5)
    store.save(update)
    assert store.load_equity()[0] == (0, 1.5, 2.5)
    assert len(store.load_equity()) == 10_000


def test_trades_load_oldest_first_and_limit_keeps_the_latest(store: StateStore) -> None:
    batch = RecordBatch()
    for exit_time in (3_000, 1_000, 2_000):
        batch.add_trade(factories.trade(exit_time=exit_time, pnl=str(exit_time)))
    store.save(batch)
    assert [t.exit_time for t in store.load_trades()] == [1_000, 2_000, 3_000]
    assert [t.pnl for t in store.load_trades(limit=2)] == [Decimal(2_000), Decimal(3_000)]


def test_a_failing_save_writes_nothing(store: StateStore) -> None:
    batch = RecordBatch()
    batch.add_order(factories.order())
    batch.add_trade(replace(factories.trade(), exit_reason=None))  # violates NOT NULL
    with pytest.raises(StorageError, match="cannot write to the database"):
        store.save(batch)
    assert store.order_count() == 0
    assert store.load_trades() == []


def test_trades_page_back_from_the_newest_and_equity_is_cut_by_time(store: StateStore) -> None:
    batch = RecordBatch()
    for exit_time in (1_000, 2_000, 3_000, 4_000):
        batch.add_trade(factories.trade(exit_time=exit_time))
        batch.add_equity(exit_time, exit_time / 10, 0.0)
    store.save(batch)
    assert store.trade_count() == 4
    assert [t.exit_time for t in store.load_trades(2, skip_latest=1)] == [2_000, 3_000]
    assert [t.exit_time for t in store.load_trades(5, skip_latest=3)] == [1_000]
    assert [row[0] for row in store.load_equity(since=2_000, limit=2)] == [3_000, 4_000]
    assert [row[0] for row in store.load_equity(since=2_000)] == [2_000, 3_000, 4_000]
