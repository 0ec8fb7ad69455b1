"""Bots to kill: the real `trading-bot run`, started in a few milliseconds from a fork server
that has imported the bot already, so that a test can kill -9 it dozens of times."""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import sqlite3
import sys
from multiprocessing.context import ForkServerContext
from multiprocessing.process import BaseProcess
from pathlib import Path

_CONTEXT: ForkServerContext | None = None


def _context() -> ForkServerContext:
    global _CONTEXT
    if _CONTEXT is None:
        _CONTEXT = multiprocessing.get_context("forkserver")
        _CONTEXT.set_forkserver_preload(["trading_bot.cli", "trading_bot.app"])
    return _CONTEXT


def _run(config: str, cwd: str, env: dict[str, str], output: str) -> None:
    """The child: the command line's own entry point, its output to a file."""
    os.chdir(cwd)
    os.environ.update(env)
    descriptor = os.open(output, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.dup2(descriptor, 1)
    os.dup2(descriptor, 2)
    from trading_bot.cli import main

    sys.argv = ["trading-bot", "run", "--config", config]
    main()


def start_bot(config: Path, cwd: Path, env: dict[str, str], output: Path) -> BaseProcess:
    process = _context().Process(
        target=_run, args=(str(config), str(cwd), env, str(output)), daemon=True
    )
    process.start()
    return process


def kill(process: BaseProcess) -> None:
    """kill -9: no handler runs, nothing is flushed or closed."""
    assert process.pid is not None
    with contextlib.suppress(ProcessLookupError):
        os.kill(process.pid, signal.SIGKILL)
    process.join()


def integrity(database: Path) -> str:
    """SQLite's own verdict on the file a killed bot left: "ok" when intact."""
    with contextlib.closing(sqlite3.connect(database)) as connection:
        return str(connection.execute("PRAGMA integrity_check").fetchone()[0])
