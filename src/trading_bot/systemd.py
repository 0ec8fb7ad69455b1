"""systemd supervision: `Type=notify` readiness, a watchdog fed only while the bot is healthy,
and STOPPING=1 at shutdown.

It speaks sd_notify's protocol (one datagram per message to the unix socket in
`$NOTIFY_SOCKET`; a leading "@" means Linux's abstract namespace), which is a few lines, so no
library is needed for it; without that variable (not run by systemd) every call does nothing.
The watchdog interval comes from `$WATCHDOG_USEC` (systemd's `WatchdogSec=`); pings go every
half interval, and only while `healthy()` says so: a blocked event loop sends none at all, and
systemd restarts the bot once a whole interval passes without one.
"""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import Callable, Mapping

import structlog

log = structlog.get_logger("trading_bot.systemd")


class SystemdNotifier:
    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        env = os.environ if env is None else env
        address = env.get("NOTIFY_SOCKET", "")
        self.address = "\0" + address[1:] if address.startswith("@") else address
        usec = env.get("WATCHDOG_USEC", "")
        pid = env.get("WATCHDOG_PID", "")
        mine = not pid or pid == str(os.getpid())
        self.watchdog_s = int(usec) / 1e6 if usec.isdigit() and mine else None
        self.pings = 0
        self.skipped = 0  # pings withheld because the bot was not healthy

    @property
    def enabled(self) -> bool:
        return bool(self.address)

    def notify(self, *states: str) -> bool:
        """Send `KEY=value` lines to systemd; False when not supervised or it failed."""
        if not self.address:
            return False
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
                sock.sendto("\n".join(states).encode(), self.address)
        except OSError as exc:
            log.warning("systemd notification failed", error=str(exc))
            return False
        return True

    def ready(self, status: str) -> None:
        self.notify("READY=1", f"STATUS={status}")

    def stopping(self) -> None:
        self.notify("STOPPING=1", "STATUS=stopping")

    async def watchdog(self, healthy: Callable[[], str | None]) -> None:
        """Ping every half watchdog interval while `healthy()` returns None (else the reason,
        shown as systemd's STATUS); returns at once when systemd set no watchdog."""
        if self.watchdog_s is None or not self.enabled:
            return
        reported: str | None = None
        while True:
            await asyncio.sleep(self.watchdog_s / 2)
            problem = healthy()
            if problem is None:
                self.pings += 1
                self.notify("WATCHDOG=1", *(["STATUS=running"] if reported else []))
            else:
                self.skipped += 1
                if problem != reported:
                    log.error("watchdog not fed: the bot is unhealthy", problem=problem)
                    self.notify(f"STATUS=unhealthy: {problem}")
            reported = problem
