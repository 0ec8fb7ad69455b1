"""systemd supervision over a real notify socket: readiness, and a watchdog fed only while the
event loop runs and the bot is healthy."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from trading_bot.systemd import SystemdNotifier


class NotifySocket:
    """systemd's end: a datagram socket that notes every message with its arrival time."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.sock.settimeout(0.05)
        self.messages: list[tuple[float, str]] = []
        self.arrived = threading.Condition()
        self._stop = False
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        while not self._stop:
            try:
                data = self.sock.recv(4096)
            except TimeoutError:
                continue
            with self.arrived:
                self.messages.append((time.monotonic(), data.decode()))
                self.arrived.notify_all()

    def pings(self) -> list[float]:
        return [t for t, text in self.messages if "WATCHDOG=1" in text]

    async def wait_pings(self, count: int) -> None:
        await self.wait_until(lambda: len(self.pings()) >= count)

    async def wait_until(self, condition: Callable[[], bool]) -> None:
        def reached() -> bool:
            with self.arrived:
                return self.arrived.wait_for(condition, timeout=10)

        assert await asyncio.to_thread(reached)

    def close(self) -> None:
        self._stop = True
        self._thread.join()
        self.sock.close()


@pytest.fixture
def systemd(tmp_path: Path) -> Iterator[NotifySocket]:
    listener = NotifySocket(tmp_path / "notify.sock")
    yield listener
    listener.close()


def test_without_systemd_nothing_is_sent() -> None:
    notifier = SystemdNotifier({})
    assert not notifier.enabled and not notifier.notify("READY=1")
    assert notifier.watchdog_s is None


async def test_readiness_and_stopping_reach_systemd(systemd: NotifySocket) -> None:
    notifier = SystemdNotifier({"NOTIFY_SOCKET": str(systemd.path)})
    notifier.ready("paper trading BTC/USDT")
    notifier.stopping()
    await systemd.wait_until(lambda: len(systemd.messages) == 2)
    assert [text for _, text in systemd.messages] == [
        "READY=1\nSTATUS=paper trading BTC/USDT",
        "STOPPING=1\nSTATUS=stopping",
    ]


async def test_the_watchdog_starves_while_the_loop_is_blocked_and_resumes_after(
    systemd: NotifySocket,
) -> None:
    env = {"NOTIFY_SOCKET": str(systemd.path), "WATCHDOG_USEC": "200000"}  # ping every 0.1 s
    notifier = SystemdNotifier(env)
    task = asyncio.create_task(notifier.watchdog(lambda: None))
    try:
        await systemd.wait_pings(3)
        blocked_from = time.monotonic()
        time.sleep(1.0)  # the event loop hangs: a handler stuck in a blocking call
        blocked_until = time.monotonic()
        before = len(systemd.pings())
        await systemd.wait_pings(before + 3)  # fed again once the loop runs
    finally:
        task.cancel()
    during = [t for t in systemd.pings() if blocked_from + 0.15 < t < blocked_until]
    assert during == []  # systemd would have restarted the bot


async def test_an_unhealthy_bot_is_not_fed_and_says_why(systemd: NotifySocket) -> None:
    env = {"NOTIFY_SOCKET": str(systemd.path), "WATCHDOG_USEC": "100000"}
    notifier = SystemdNotifier(env)
    problem: list[str | None] = ["binance stream: reconnecting"]
    task = asyncio.create_task(notifier.watchdog(lambda: problem[0]))
    try:
        await systemd.wait_until(lambda: any("unhealthy" in m for _, m in systemd.messages))
        await asyncio.sleep(0.3)  # six watchdog half-intervals pass: none may feed it
        assert systemd.pings() == [] and notifier.skipped >= 3
        problem[0] = None
        await systemd.wait_pings(1)
    finally:
        task.cancel()
    texts = [text for _, text in systemd.messages]
    assert "STATUS=unhealthy: binance stream: reconnecting" in texts
    assert "WATCHDOG=1\nSTATUS=running" in texts


def test_a_watchdog_meant_for_another_process_is_ignored() -> None:
    env = {"NOTIFY_SOCKET": "/run/x", "WATCHDOG_USEC": "1000000", "WATCHDOG_PID": "1"}
    assert SystemdNotifier(env).watchdog_s is None
