"""Opening the database: a SQLite file by default, PostgreSQL by URL, and its migrations.

Every failure leaves here as a `StorageError` with one sentence that names the database (its
password masked) and what to do, never as a driver traceback.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.util import CommandError
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.pool import StaticPool

from trading_bot.core.errors import UserError

MIGRATIONS = "trading_bot.storage:migrations"
SQLITE_BUSY_TIMEOUT_MS = 10_000
_URL_EXAMPLES = "sqlite:///path/to/bot.sqlite or postgresql://user:password@host/database"


class StorageError(UserError):
    """The database cannot be opened, migrated, read or written; the message says why."""


class Database:
    """An engine over SQLite or PostgreSQL, checked by connecting once when it is created.

    A plain `postgresql://` URL uses the psycopg 3 driver. A SQLite file is created readable by
    its owner only (it holds the trading history), in WAL mode so readers never block the writer.
    """

    def __init__(self, url: str) -> None:
        try:
            given = make_url(url)
        except (ArgumentError, ValueError):  # ValueError: a port that is not a number
            # The parser's message may repeat the URL, password included.
            raise StorageError(
                f"the database URL is not valid: write it like {_URL_EXAMPLES}"
            ) from None
        self.display_url = given.render_as_string(hide_password=True)
        self._password = given.password
        self.engine = self._open(given)

    def __repr__(self) -> str:
        return f"Database({self.display_url!r})"

    @property
    def dialect(self) -> str:
        """The backend: "sqlite" or "postgresql"."""
        return self.engine.dialect.name

    def migrate(self) -> None:
        """Upgrade the schema to the newest revision this version ships (a no-op when current)."""
        config = Config()
        config.set_main_option("script_location", MIGRATIONS)
        try:
            with self.begin() as connection:
                config.attributes["connection"] = connection
                command.upgrade(config, "head")
        except CommandError as exc:
            raise StorageError(
                f"cannot migrate the database {self.display_url} ({exc}): if a newer "
                "trading-bot wrote it, upgrade trading-bot or use another database"
            ) from exc

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        """A transaction: committed when the block ends, rolled back if it raises."""
        with self._translated("write to"), self.engine.begin() as connection:
            yield connection

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        with self._translated("read from"), self.engine.connect() as connection:
            yield connection

    def close(self) -> None:
        self.engine.dispose()

    def _open(self, given: URL) -> Engine:
        backend = given.get_backend_name()
        if backend not in ("sqlite", "postgresql"):
            raise StorageError(
                f"the database {self.display_url} is not supported: use {_URL_EXAMPLES}"
            )
        try:
            engine = _open_sqlite(given) if backend == "sqlite" else _open_postgresql(given)
            with engine.connect():
                return engine
        except (OSError, SQLAlchemyError) as exc:
            hint = (
                "check that its directory exists or can be created, and is writable"
                if backend == "sqlite"
                else "check the URL and that the server is running and reachable"
            )
            raise StorageError(
                f"cannot open the database {self.display_url} ({self._reason(exc)}): {hint}"
            ) from exc

    @contextmanager
    def _translated(self, action: str) -> Iterator[None]:
        try:
            yield
        except SQLAlchemyError as exc:
            raise StorageError(
                f"cannot {action} the database {self.display_url}: {self._reason(exc)}"
            ) from exc

    def _reason(self, exc: Exception) -> str:
        """The driver's own first line (not SQLAlchemy's, which quotes statements and data),
        with the password scrubbed in case the driver echoed it."""
        cause = getattr(exc, "orig", None) or exc
        lines = str(cause).strip().splitlines()
        reason = lines[0] if lines else type(cause).__name__
        return reason.replace(self._password, "***") if self._password else reason


def _open_postgresql(url: URL) -> Engine:
    if url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
    # pre-ping: a bot runs for months, and the server restarts now and then
    return create_engine(url, pool_pre_ping=True)


def _open_sqlite(url: URL) -> Engine:
    if url.database and url.database != ":memory:":
        # Absolute, so that a later change of working directory cannot move the database.
        path = Path(url.database).expanduser().resolve()
        _create_private_file(path)
        engine = create_engine(url.set(database=str(path)))
    else:
        # One shared connection, or each thread would see its own empty database.
        engine = create_engine(url, poolclass=StaticPool, connect_args={"check_same_thread": False})
    event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _create_private_file(path: Path) -> None:
    """Create the file before SQLite does, so it is never readable by others, not even briefly.
    SQLite gives its -wal and -shm files the same permissions."""
    path.parent.mkdir(parents=True, exist_ok=True)
    os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
    path.chmod(0o600)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")  # safe with WAL; FULL costs an fsync per commit
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.close()
