"""Housekeeping: old logs compressed then deleted, a size budget kept, and online backups of the
SQLite database, so that a bot running for months neither fills its disk nor lives with one copy
of its books.

Safety first: only regular files inside the configured folders that match the log patterns are
ever touched; symbolic links are never followed nor removed, and the live log files (the ones
being written) are left alone. Backups use SQLite's online backup API, consistent while the bot
writes; each is written under a temporary name and renamed when complete, and only our own
backups (`<name>-YYYYMMDDTHHMMSSZ<suffix>`) are ever pruned.
"""

from __future__ import annotations

import asyncio
import fnmatch
import gzip
import os
import re
import shutil
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import structlog
from sqlalchemy.engine import make_url

from trading_bot.core.clock import Clock
from trading_bot.services.settings import HousekeepingSettings

log = structlog.get_logger("trading_bot.housekeeping")

DAY_S = 86_400
MB = 1_000_000
_STAMP = "%Y%m%dT%H%M%SZ"
_STAMP_PATTERN = r"\d{8}T\d{6}Z"


@dataclass
class Cleanup:
    compressed: list[Path] = field(default_factory=list)  # the originals, now `<name>.gz`
    deleted: list[Path] = field(default_factory=list)
    total_bytes: int = 0  # what the cleaned files and the live logs hold afterwards


def _log_files(root: Path, patterns: tuple[str, ...]) -> Iterator[Path]:
    """Regular files under `root` whose names match, never through or at a symbolic link."""
    for folder, dirs, files in os.walk(root, followlinks=False):
        here = Path(folder)
        dirs[:] = [d for d in dirs if not (here / d).is_symlink()]
        for name in files:
            path = here / name
            if path.is_symlink() or name.endswith(".partial"):  # ours, unfinished: let it be
                continue
            if not any(fnmatch.fnmatch(name, pattern) for pattern in patterns):
                continue
            if path.resolve().is_relative_to(root):
                yield path


def clean_logs(settings: HousekeepingSettings, now_ms: int, active: Iterable[Path] = ()) -> Cleanup:
    """Compress, delete and cap the log folder (`settings.log_dir`) as of `now_ms`; the `active`
    files (live logs) are counted in the budget but never touched."""
    result = Cleanup()
    if settings.log_dir is None or not settings.log_dir.is_dir():
        return result
    root = settings.log_dir.resolve()
    live = {path.resolve() for path in active}
    now_s = now_ms / 1000
    kept: list[tuple[float, int, Path]] = []  # (mtime, size, path)
    for path in _log_files(root, settings.patterns):
        stat = path.stat()
        if path.resolve() in live:
            result.total_bytes += stat.st_size
            continue
        age_days = (now_s - stat.st_mtime) / DAY_S
        if settings.delete_after_days is not None and age_days > settings.delete_after_days:
            path.unlink()
            result.deleted.append(path)
            continue
        compress = settings.compress_after_days
        if compress is not None and age_days > compress and path.suffix != ".gz":
            packed = _gzip(path, stat)
            if packed is not None:
                result.compressed.append(path)
                path, stat = packed, packed.stat()
        kept.append((stat.st_mtime, stat.st_size, path))
    result.total_bytes += sum(size for _, size, _ in kept)
    if settings.max_total_mb is not None:
        budget = settings.max_total_mb * MB
        for _, size, path in sorted(kept):  # oldest first
            if result.total_bytes <= budget:
                break
            path.unlink()
            result.deleted.append(path)
            result.total_bytes -= size
    return result


def _gzip(path: Path, stat: os.stat_result) -> Path | None:
    """`path` compressed to `<path>.gz` (same modification time), the original removed; None
    when that name is taken or the file was replaced meanwhile (a log rotation)."""
    target = path.with_name(path.name + ".gz")
    if target.exists() or target.is_symlink():
        return None
    partial = path.with_name(path.name + ".gz.partial")
    with path.open("rb") as source, gzip.open(partial, "wb") as packed:
        shutil.copyfileobj(source, packed)
    if os.stat(path).st_ino != stat.st_ino:  # rotated while we read: keep what is there
        partial.unlink()
        return None
    os.utime(partial, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    partial.replace(target)
    path.unlink()
    return target


def sqlite_path(database_url: str) -> Path | None:
    """The file of a `sqlite:///...` URL; None for another database or an in-memory one."""
    url = make_url(database_url)
    database = url.database
    if url.get_backend_name() != "sqlite" or database is None or database in ("", ":memory:"):
        return None
    return Path(database).expanduser()


def _backups(database: Path, folder: Path) -> list[Path]:
    """Our backups of `database` in `folder`, oldest first (the stamp sorts by time)."""
    pattern = re.compile(
        re.escape(database.stem) + "-" + _STAMP_PATTERN + re.escape(database.suffix) + "$"
    )
    found = [p for p in folder.iterdir() if pattern.match(p.name) and not p.is_symlink()]
    return sorted(found, key=lambda p: p.name)


def _stamp_ms(backup: Path) -> int:
    stamp = re.search(_STAMP_PATTERN, backup.name)
    assert stamp is not None
    return int(datetime.strptime(stamp[0], _STAMP).replace(tzinfo=UTC).timestamp() * 1000)


def backup_sqlite(database: Path, folder: Path, now_ms: int, keep: int) -> Path:
    """An online backup of `database` into `folder` named by `now_ms`; then only the newest
    `keep` backups are kept."""
    folder.mkdir(parents=True, exist_ok=True)
    stamp = datetime.fromtimestamp(now_ms / 1000, UTC).strftime(_STAMP)
    target = folder / f"{database.stem}-{stamp}{database.suffix}"
    partial = target.with_name(target.name + ".partial")
    source = sqlite3.connect(f"{database.resolve().as_uri()}?mode=ro", uri=True)
    try:
        copy = sqlite3.connect(partial)
        try:
            source.backup(copy)
        finally:
            copy.close()
    finally:
        source.close()
    partial.replace(target)
    for old in _backups(database, folder)[:-keep]:
        old.unlink()
    return target


class Housekeeping:
    """The scheduler's jobs: `clean` (the log folder) and `backup` (the SQLite database)."""

    def __init__(
        self,
        settings: HousekeepingSettings,
        clock: Clock,
        active_logs: Iterable[Path] = (),
        database: Path | None = None,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.active_logs = tuple(active_logs)
        self.database = database

    async def clean(self) -> None:
        done = await asyncio.to_thread(
            clean_logs, self.settings, self.clock.now_ms(), self.active_logs
        )
        if done.compressed or done.deleted:
            log.info(
                "logs cleaned",
                compressed=len(done.compressed),
                deleted=len(done.deleted),
                total_mb=round(done.total_bytes / MB, 1),
            )

    async def backup(self) -> None:
        """Back up the database unless the newest backup is younger than the interval (a bot
        restarted in a loop must not push its good backups out)."""
        folder, database = self.settings.backup_dir, self.database
        if folder is None or database is None:
            return
        now = self.clock.now_ms()
        existing = _backups(database, folder) if folder.is_dir() else []
        if existing and now - _stamp_ms(existing[-1]) < self.settings.backup_interval_s * 1000:
            return
        target = await asyncio.to_thread(
            backup_sqlite, database, folder, now, self.settings.keep_backups
        )
        log.info("database backed up", backup=str(target))
