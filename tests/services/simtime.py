"""Simulated time for scheduled jobs: a job awaits `sleep_until` a time on the simulated clock,
and the driver wakes it when it moves the clock there; no real sleeping anywhere."""

from __future__ import annotations

import asyncio
import heapq
import itertools

from trading_bot.core.clock import SimulatedClock
from trading_bot.services.scheduler import Scheduler


class SimTimers:
    def __init__(self, clock: SimulatedClock) -> None:
        self.clock = clock
        self._heap: list[tuple[int, int, asyncio.Future[None]]] = []
        self._ids = itertools.count()

    async def sleep_until(self, ms: int) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._heap, (ms, next(self._ids), future))
        await future

    def next_ms(self) -> int | None:
        return self._heap[0][0] if self._heap else None

    def release(self, now: int) -> None:
        while self._heap and self._heap[0][0] <= now:
            _, _, future = heapq.heappop(self._heap)
            if not future.done():
                future.set_result(None)


async def drive(scheduler: Scheduler, clock: SimulatedClock, timers: SimTimers, end: int) -> int:
    """Move the clock from one wakeup to the next until `end` (exclusive); the steps taken."""
    steps = 0
    while True:
        wakeups = [t for t in (scheduler.next_wakeup_ms(), timers.next_ms()) if t is not None]
        wake = min(wakeups)
        if wake >= end:
            return steps
        clock.advance_to(wake)
        timers.release(wake)
        await scheduler.run_due()
        steps += 1
