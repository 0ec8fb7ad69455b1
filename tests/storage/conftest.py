"""Storage tests run on SQLite always, and also on PostgreSQL when
TRADING_BOT_TEST_DATABASE_URL names one (without it the PostgreSQL cases do not exist)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import MetaData

from trading_bot.storage import Database, StateStore

POSTGRES_URL = os.environ.get("TRADING_BOT_TEST_DATABASE_URL")
BACKENDS = ["sqlite", *(["postgresql"] if POSTGRES_URL else [])]


def _drop_all_tables(database: Database) -> None:
    """Everything, alembic_version included, so each test starts from an empty database."""
    metadata = MetaData()
    with database.begin() as connection:
        metadata.reflect(connection)
        metadata.drop_all(connection)


@pytest.fixture(params=BACKENDS)
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """An empty, unmigrated database."""
    if request.param == "sqlite":
        db = Database(f"sqlite:///{tmp_path}/bot.sqlite")
        yield db
        db.close()
        return
    assert POSTGRES_URL is not None
    db = Database(POSTGRES_URL)
    _drop_all_tables(db)
    yield db
    _drop_all_tables(db)
    db.close()


@pytest.fixture
def store(database: Database) -> StateStore:
    database.migrate()
    return StateStore(database)
