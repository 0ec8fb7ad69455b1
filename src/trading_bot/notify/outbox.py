"""Notifications waiting to be sent: bounded, in order, removed only once delivered.

Hub handlers put (never blocking, never waiting: a full outbox drops the new notification and
counts it); the sending task peeks at what is pending, which builds deferred notifications and
applies the delivery settings (on, silent, off), sends it, and only then takes it out, so a
failed send is retried with the same notifications in the same order, and none is sent twice
after a success.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Iterable, Mapping

import structlog

from trading_bot.notify.messages import (
    Deferred,
    Delivery,
    Kind,
    Notification,
    Pending,
    deliver_as,
)

log = structlog.get_logger("trading_bot.notify")


class Outbox:
    def __init__(self, max_backlog: int, name: str, deliveries: Mapping[Kind, Delivery]) -> None:
        self.name = name
        self.dropped = 0
        self._max = max_backlog
        self._deliveries = deliveries
        self._pending: deque[Pending] = deque()
        self._changed = asyncio.Event()

    def __len__(self) -> int:
        return len(self._pending)

    def put(self, notification: Pending) -> None:
        if isinstance(notification, Notification):
            shown = deliver_as(notification, self._deliveries)
            if shown is None:
                return
            notification = shown
        if len(self._pending) >= self._max:
            if self.dropped == 0 or self.dropped % 100 == 0:  # a full outbox is told, not flooded
                log.warning("notification backlog full; dropping", outbox=self.name)
            self.dropped += 1
            return
        self._pending.append(notification)
        self._changed.set()

    def peek(self, limit: int) -> list[Notification]:
        """The first `limit` notifications to send (fewer if fewer wait; none if every pending
        one turned out to be off)."""
        shown: list[Notification] = []
        pending = self._pending
        i = 0
        while i < len(pending) and len(shown) < limit:
            item = pending[i]
            notification = item if isinstance(item, Notification) else self._build(item)
            if notification is None:
                del pending[i]
                continue
            pending[i] = notification
            shown.append(notification)
            i += 1
        return shown

    def _build(self, deferred: Deferred) -> Notification | None:
        """The deferred notification, or None when off or unbuildable: a message that cannot be
        written is logged and skipped, never the end of the sending task."""
        try:
            built = deferred()
        except Exception:
            log.exception("a notification could not be written; skipped", outbox=self.name)
            return None
        return None if built is None else deliver_as(built, self._deliveries)

    def done(self, count: int) -> None:
        """The first `count` pending notifications were delivered (or refused for good)."""
        for _ in range(count):
            self._pending.popleft()
        self._changed.set()

    async def wait_pending(self) -> None:
        while not self._pending:
            self._changed.clear()
            await self._changed.wait()

    async def wait_empty(self) -> None:
        while self._pending:
            self._changed.clear()
            await self._changed.wait()


async def drain(outboxes: Iterable[Outbox], timeout_s: float) -> bool:
    """Wait up to `timeout_s` for every outbox to be emptied by its sending task (at shutdown,
    with the senders still running). False if some notifications were left."""
    try:
        async with asyncio.timeout(timeout_s):
            for outbox in outboxes:
                await outbox.wait_empty()
    except TimeoutError:
        return False
    return True
