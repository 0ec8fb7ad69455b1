"""Housekeeping on a temporary tree of old and new logs: exactly the right files are compressed
and deleted, nothing outside the folder or behind a link is touched; SQLite backups are
consistent copies, made once per interval, and only the newest K are kept."""

from __future__ import annotations

import gzip
import os
import sqlite3
from pathlib import Path

import pytest

from trading_bot.core.clock import DAY_MS, SimulatedClock
from trading_bot.services.housekeeping import (
    Housekeeping,
    HousekeepingSettings,
    clean_logs,
    sqlite_path,
)

NOW_MS = 1_763_800_000_000
DAY_S = 86_400


def make(path: Path, age_days: float, size: int = 100) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x" * size)
    mtime = NOW_MS / 1000 - age_days * DAY_S
    os.utime(path, (mtime, mtime))
    return path


def tree(tmp_path: Path) -> dict[str, Path]:
    logs, outside = tmp_path / "logs", tmp_path / "outside"
    files = {
        "active": make(logs / "trading-bot.jsonl", 40),  # live, however old
        "fresh": make(logs / "trading-bot.jsonl.1", 0.5),
        "to_compress": make(logs / "trading-bot.jsonl.2", 3),
        "compressed": make(logs / "trading-bot.jsonl.3.gz", 10),
        "to_delete": make(logs / "trading-bot.jsonl.4", 40),
        "nested_old": make(logs / "archive" / "app.log.2", 45),
        "not_a_log": make(logs / "notes.txt", 100),
        "outside": make(outside / "victim.log", 100),
        "outside_dir": make(outside / "dir" / "old.log", 100),
    }
    (logs / "link.log").symlink_to(files["outside"])
    (logs / "linked").symlink_to(outside / "dir", target_is_directory=True)
    return files


def test_exactly_the_right_logs_are_compressed_and_deleted(tmp_path: Path) -> None:
    files = tree(tmp_path)
    settings = HousekeepingSettings(
        log_dir=tmp_path / "logs", compress_after_days=1, delete_after_days=30, max_total_mb=None
    )
    done = clean_logs(settings, NOW_MS, active=[files["active"]])

    assert sorted(done.deleted) == sorted([files["to_delete"], files["nested_old"]])
    assert done.compressed == [files["to_compress"]]
    survivors = {p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file()}
    assert survivors == {
        Path("logs/trading-bot.jsonl"),
        Path("logs/trading-bot.jsonl.1"),
        Path("logs/trading-bot.jsonl.2.gz"),
        Path("logs/trading-bot.jsonl.3.gz"),
        Path("logs/notes.txt"),
        Path("logs/link.log"),  # the link itself, never followed nor removed
        Path("outside/victim.log"),
        Path("outside/dir/old.log"),
    }
    packed = tmp_path / "logs" / "trading-bot.jsonl.2.gz"
    assert gzip.decompress(packed.read_bytes()) == b"x" * 100
    assert packed.stat().st_mtime == pytest.approx(NOW_MS / 1000 - 3 * DAY_S)
    assert (tmp_path / "logs" / "link.log").is_symlink()
    assert (tmp_path / "logs" / "linked").is_symlink()
    # run again: nothing more to do
    again = clean_logs(settings, NOW_MS, active=[files["active"]])
    assert again.deleted == [] and again.compressed == []


def test_the_size_budget_deletes_the_oldest_logs_never_the_live_one(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    live = make(logs / "bot.log", 9, size=400_000)
    old = [make(logs / f"bot.log.{i}", age_days=i, size=300_000) for i in range(1, 5)]
    settings = HousekeepingSettings(
        log_dir=logs, compress_after_days=None, delete_after_days=None, max_total_mb=1.0
    )
    done = clean_logs(settings, NOW_MS, active=[live])
    # 400 KB live + 4 x 300 KB = 1.6 MB: the two oldest go to reach 1.0 MB
    assert done.deleted == [old[3], old[2]]
    assert done.total_bytes == 1_000_000
    assert live.exists() and old[0].exists() and old[1].exists()


def test_no_folder_configured_or_missing_touches_nothing(tmp_path: Path) -> None:
    make(tmp_path / "a.log", 100)
    assert clean_logs(HousekeepingSettings(), NOW_MS).deleted == []
    missing = HousekeepingSettings(log_dir=tmp_path / "nope")
    assert clean_logs(missing, NOW_MS).deleted == []
    assert (tmp_path / "a.log").exists()


def test_sqlite_path_reads_only_sqlite_file_urls(tmp_path: Path) -> None:
    assert sqlite_path(f"sqlite:///{tmp_path}/bot.sqlite") == tmp_path / "bot.sqlite"
    assert sqlite_path("sqlite://") is None
    assert sqlite_path("sqlite:///:memory:") is None
    assert sqlite_path("postgresql://u:p@db/bot") is None


async def test_daily_backups_are_consistent_and_only_the_newest_are_kept(tmp_path: Path) -> None:
    database = tmp_path / "bot.sqlite"
    writer = sqlite3.connect(database)
    writer.execute("PRAGMA journal_mode=WAL")
    writer.execute("CREATE TABLE fills (id INTEGER PRIMARY KEY, qty TEXT)")
    backups = tmp_path / "backups"
    backups.mkdir()
    (backups / "unrelated.sqlite").write_bytes(b"keep me")
    clock = SimulatedClock(NOW_MS)
    settings = HousekeepingSettings(backup_dir=backups, keep_backups=3)
    keeper = Housekeeping(settings, clock, database=database)
    try:
        for day in range(5):
            with writer:  # the bot writes while backups are taken (WAL mode)
                writer.execute("INSERT INTO fills (qty) VALUES (?)", (str(day),))
            clock.advance_to(NOW_MS + day * DAY_MS)
            await keeper.backup()
            clock.advance_to(NOW_MS + day * DAY_MS + 3_600_000)
            await keeper.backup()  # an hour later (a restart): not again
    finally:
        writer.close()

    names = sorted(p.name for p in backups.iterdir())
    assert len(names) == 4 and "unrelated.sqlite" in names
    ours = [n for n in names if n != "unrelated.sqlite"]
    assert ours == [f"bot-202511{day}T082640Z.sqlite" for day in (24, 25, 26)]  # days 2-4
    newest = sqlite3.connect(backups / ours[-1])
    try:
        rows = newest.execute("SELECT qty FROM fills ORDER BY id").fetchall()
    finally:
        newest.close()
    assert rows == [("0",), ("1",), ("2",), ("3",), ("4",)]
