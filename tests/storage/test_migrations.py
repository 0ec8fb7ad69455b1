from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from trading_bot.storage import Database, RecordBatch, StateStore
from trading_bot.storage.schema import Base

HEAD = "0002"
TABLES = {"orders", "fills", "trades", "equity", "positions", "bot_state"}


def _tables(database: Database) -> set[str]:
    with database.connect() as connection:
        return set(inspect(connection).get_table_names())


def _revision(database: Database) -> str | None:
    with database.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def test_migrate_creates_the_schema_and_a_second_migrate_changes_nothing(
    database: Database,
) -> None:
    assert _tables(database) == set()
    database.migrate()
    assert _tables(database) == TABLES | {"alembic_version"}
    assert _revision(database) == HEAD

    batch = RecordBatch()
    batch.set_state("paused", True)
    StateStore(database).save(batch)
    database.migrate()
    assert _revision(database) == HEAD
    assert StateStore(database).get_state("paused") is True


def test_migrated_schema_matches_the_models(database: Database) -> None:
    database.migrate()
    with database.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []
