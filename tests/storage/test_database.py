from __future__ import annotations

import stat
import threading
from pathlib import Path

import pytest

from trading_bot.storage import Database, RecordBatch, StateStore, StorageError
from trading_bot.storage.database import SQLITE_BUSY_TIMEOUT_MS


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _pragma(database: Database, name: str) -> object:
    with database.connect() as connection:
        return connection.exec_driver_sql(f"PRAGMA {name}").scalar_one()


def _save_state(database: Database, key: str, value: object) -> None:
    batch = RecordBatch()
    batch.set_state(key, value)
    StateStore(database).save(batch)


def test_sqlite_file_is_private_in_a_created_directory_and_in_wal_mode(tmp_path: Path) -> None:
    path = tmp_path / "not" / "yet" / "there" / "bot.sqlite"
    database = Database(f"sqlite:///{path}")
    database.migrate()
    _save_state(database, "paused", True)

    assert _mode(path) == 0o600
    assert all(_mode(p) == 0o600 for p in path.parent.glob("bot.sqlite-*"))  # -wal, -shm
    assert _pragma(database, "journal_mode") == "wal"
    assert _pragma(database, "synchronous") == 1  # NORMAL
    assert _pragma(database, "foreign_keys") == 1
    assert _pragma(database, "busy_timeout") == SQLITE_BUSY_TIMEOUT_MS
    database.close()


def test_an_existing_sqlite_file_is_made_private(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite"
    path.touch(mode=0o644)
    path.chmod(0o644)
    Database(f"sqlite:///{path}").close()
    assert _mode(path) == 0o600


def test_relative_sqlite_path_is_fixed_at_the_working_directory_of_the_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    database = Database("sqlite:///relative.sqlite")
    assert (tmp_path / "relative.sqlite").exists()
    database.migrate()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    _save_state(database, "mode", "paper")
    database.close()

    reopened = Database(f"sqlite:///{tmp_path / 'relative.sqlite'}")
    assert StateStore(reopened).get_state("mode") == "paper"
    assert not (elsewhere / "relative.sqlite").exists()
    reopened.close()


def test_in_memory_sqlite_is_one_database_across_threads() -> None:
    database = Database("sqlite://")
    database.migrate()
    thread = threading.Thread(target=_save_state, args=(database, "k", [1, 2]))
    thread.start()
    thread.join()
    assert StateStore(database).get_state("k") == [1, 2]
    database.close()


def test_unopenable_sqlite_path_is_one_clear_sentence() -> None:
    with pytest.raises(StorageError) as caught:
        Database("sqlite:////proc/x/db.sqlite")
    message = str(caught.value)
    assert message.startswith("cannot open the database sqlite:////proc/x/db.sqlite (")
    assert "directory" in message
    assert "\n" not in message


def test_unreachable_postgresql_error_masks_the_password() -> None:
    with pytest.raises(StorageError) as caught:
        Database("postgresql://u:secret@127.0.0.1:1/x")
    message = str(caught.value)
    assert "secret" not in message
    assert "postgresql://u:***@127.0.0.1:1/x" in message
    assert "server is running" in message
    assert "\n" not in message


@pytest.mark.parametrize(
    "url",
    [
        "mysql://u:secret@host/db",
        "postgres://u:secret@host/db",
        "postgresql://u:secret@host:port/db",
        "not a url secret",
    ],
)
def test_unsupported_or_malformed_url_says_what_to_write(url: str) -> None:
    with pytest.raises(StorageError) as caught:
        Database(url)
    message = str(caught.value)
    assert "secret" not in message
    assert "sqlite:///" in message
    assert "postgresql://" in message


def test_plain_postgresql_url_uses_psycopg_3(database: Database) -> None:
    expected = {"sqlite": "pysqlite", "postgresql": "psycopg"}[database.dialect]
    assert database.engine.driver == expected
