"""Bots to kill: the real `trading-bot run`, started in a few milliseconds from a fork server
that has imported the bot already, so that a test can kill -9 it dozens of times."""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import os
import random
import signal
import sqlite3
import sys
from multiprocessing.context import ForkServerContext
from multiprocessing.process import BaseProcess
from pathlib import Path

from tests.test_systemd import NotifySocket
from trading_bot.core.model import OrderStatus
from trading_bot.storage import Database, StateStore

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


class KillLoop:
    """Start the bot, kill -9 it at a random moment of its run once it is ready (systemd's
    READY=1), and start it again, `kills` times, with SQLite's verdict checked after each kill.
    The last start is left running for the test; leaving the `async with` kills any bot still
    alive, so that a failed test leaves none behind."""

    def __init__(self, config: Path, cwd: Path, env: dict[str, str], seed: int = 7) -> None:
        self.config, self.cwd = config, cwd
        self.output = cwd / "bot.out"
        self.database = cwd / "bot.sqlite"
        self.bot: BaseProcess | None = None
        self._env = env
        self._chance = random.Random(seed)
        self._systemd: NotifySocket | None = None

    async def __aenter__(self) -> KillLoop:
        self._systemd = NotifySocket(self.cwd / "notify.sock")
        self._env = {**self._env, "NOTIFY_SOCKET": str(self._systemd.path)}
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self.bot is not None and self.bot.is_alive():
            kill(self.bot)
        if self._systemd is not None:
            self._systemd.close()

    async def run(self, kills: int) -> None:
        """`kills` kills at moments 0.1-1.2 s into a run (somewhere in the order flow), then
        a last start, ready when this returns."""
        for run in range(kills + 1):
            await self._start()
            if run == kills:
                break
            await asyncio.sleep(self._chance.uniform(0.1, 1.2))
            assert self.bot is not None
            kill(self.bot)
            assert integrity(self.database) == "ok", f"after kill {run + 1}"
        assert self.output.read_text().count("Running.") == kills + 1

    async def settled(self, timeout_s: float = 30.0) -> None:
        """Until the running bot has learned the fate of every order the kills left unconfirmed
        (it writes them to the database; no event reaches this test from the other process, so
        the database is polled)."""
        store = StateStore(Database(f"sqlite:///{self.database}"))
        async with asyncio.timeout(timeout_s):
            while any(o.status is OrderStatus.SUBMITTED for o in store.load_orders()):
                await asyncio.sleep(0.25)

    def stop(self) -> int | None:
        """SIGTERM: a clean stop, its state saved; the exit code."""
        assert self.bot is not None
        self.bot.terminate()
        self.bot.join(10)
        return self.bot.exitcode

    async def _start(self) -> None:
        systemd = self._systemd
        assert systemd is not None, "use KillLoop with async with"
        before = _readiness(systemd)
        self.bot = start_bot(self.config, self.cwd, self._env, self.output)
        await systemd.wait_until(lambda: _readiness(systemd) > before)


def _readiness(systemd: NotifySocket) -> int:
    return sum("READY=1" in text for _, text in systemd.messages)
