"""Interval tasks on the injected clock, so that news, scans and housekeeping run the same in
backtests, paper and live runs.

Each task runs as its own asyncio task, never two runs of one task at once (a slot that comes
while the last run still runs is skipped and counted), with a random jitter within each interval
so that many bots do not hit a service in step, and a timeout measured on the same clock. A run
that raises or outlives its timeout is logged and counted, retried after a backoff (capped at
the interval), and never touches the other tasks or the trading loop.

Two ways to drive it: `run()` for the wall clock (it sleeps until the next thing is due), or
`run_due()` called by whoever moves a simulated clock, which starts what is due at the clock's
time and needs no real sleeping.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import structlog

from trading_bot.core.clock import Clock
from trading_bot.venues.backoff import Backoff

log = structlog.get_logger("trading_bot.scheduler")

Job = Callable[[], Awaitable[object]]  # what it returns is ignored


@dataclass(frozen=True, slots=True)
class TaskInfo:
    """A task as the status command and the API show it; times are epoch ms on the clock."""

    name: str
    interval_s: float
    running: bool
    runs: int  # runs finished, however they ended
    errors: int  # runs that raised or timed out
    timeouts: int
    skipped: int  # slots that came while the last run still ran
    last_start: int | None
    last_duration_ms: int | None
    last_error: str | None
    next_run: int


class _Task:
    """One task's schedule and counters."""

    def __init__(
        self,
        name: str,
        job: Job,
        interval_ms: int,
        timeout_ms: int,
        jitter_ms: int,
        retry_ms: int,
        first_ms: int,
        rng: random.Random,
    ) -> None:
        self.name = name
        self.job = job
        self.interval_ms = interval_ms
        self.timeout_ms = timeout_ms
        self.jitter_ms = jitter_ms
        self.rng = rng
        self.backoff = Backoff(retry_ms / 1000, interval_ms / 1000, rng)
        self.slot = first_ms  # the start of the interval the next run belongs to
        self.next_run = first_ms + self._jitter()
        self.running: asyncio.Task[None] | None = None
        self.deadline = 0
        self.timing_out = False
        self.runs = self.errors = self.timeouts = self.skipped = 0
        self.last_start: int | None = None
        self.last_duration_ms: int | None = None
        self.last_error: str | None = None

    def _jitter(self) -> int:
        return self.rng.randrange(self.jitter_ms + 1) if self.jitter_ms else 0

    def schedule_after_success(self, now: int) -> None:
        """The next slot of the fixed-rate grid (no drift), skipping slots already past."""
        self.backoff.reset()
        self.slot += self.interval_ms
        if self.slot <= now - self.interval_ms:
            missed = (now - self.slot) // self.interval_ms
            self.skipped += missed
            self.slot += missed * self.interval_ms
        self.next_run = max(self.slot + self._jitter(), now)

    def schedule_after_failure(self, now: int) -> None:
        """A retry after the backoff; the grid resumes from the retry's time."""
        delay = round(self.backoff.next() * 1000)
        self.slot = now + delay
        self.next_run = self.slot

    def info(self) -> TaskInfo:
        return TaskInfo(
            name=self.name,
            interval_s=self.interval_ms / 1000,
            running=self.running is not None,
            runs=self.runs,
            errors=self.errors,
            timeouts=self.timeouts,
            skipped=self.skipped,
            last_start=self.last_start,
            last_duration_ms=self.last_duration_ms,
            last_error=self.last_error,
            next_run=self.next_run,
        )


class Scheduler:
    """Runs jobs at intervals on `clock`. `rng` makes jitter and backoff reproducible."""

    def __init__(self, clock: Clock, rng: random.Random | None = None) -> None:
        self.clock = clock
        self._rng = rng or random.Random()
        self._tasks: dict[str, _Task] = {}
        self._changed = asyncio.Event()

    def add(
        self,
        name: str,
        job: Job,
        interval_s: float,
        *,
        timeout_s: float | None = None,
        jitter_s: float = 0.0,
        retry_s: float = 5.0,
        first_delay_s: float = 0.0,
    ) -> None:
        """Run `job` every `interval_s` from `first_delay_s` on; each run ends after `timeout_s`
        (default: the interval); a failed run is retried after `retry_s`, doubling, capped at
        the interval."""
        if name in self._tasks:
            raise ValueError(f"a task named {name!r} is scheduled already")
        if interval_s <= 0:
            raise ValueError(f"the interval of {name!r} must be positive")
        interval_ms = round(interval_s * 1000)
        timeout_ms = interval_ms if timeout_s is None else round(timeout_s * 1000)
        jitter_ms = min(round(jitter_s * 1000), interval_ms - 1)
        first = self.clock.now_ms() + round(first_delay_s * 1000)
        self._tasks[name] = _Task(
            name,
            job,
            interval_ms,
            timeout_ms,
            jitter_ms,
            round(retry_s * 1000),
            first,
            self._rng,
        )
        self._changed.set()

    def tasks(self) -> list[TaskInfo]:
        return [task.info() for task in self._tasks.values()]

    def next_wakeup_ms(self) -> int | None:
        """When something is due next: a run to start or a run to time out."""
        times = [
            t.next_run if t.running is None else t.deadline
            for t in self._tasks.values()
            if not t.timing_out  # a run that ignores its cancellation wakes us when it ends
        ]
        return min(times, default=None)

    async def run_due(self) -> None:
        """Time out overdue runs and start due ones at the clock's time. Ends with one pass of
        the event loop, so that a job that does not wait on I/O completes within the step."""
        now = self.clock.now_ms()
        for task in self._tasks.values():
            if task.running is not None and now >= task.deadline and not task.timing_out:
                task.timing_out = True
                task.running.cancel()
        if any(t.timing_out for t in self._tasks.values()):
            await asyncio.sleep(0)  # let the cancelled runs end before their next slot
        for task in self._tasks.values():
            # a run that overran its slot is never joined by another: when it ends, the slots
            # it took are counted as skipped
            if task.running is None and now >= task.next_run:
                self._start(task, now)
        await asyncio.sleep(0)

    async def run(self, max_sleep_s: float = 1.0) -> None:
        """Drive the schedule forever (a task of the app). Sleeps until the next wakeup, at
        most `max_sleep_s`, so that a clock moved by a replay is followed too."""
        while True:
            await self.run_due()
            wakeup = self.next_wakeup_ms()
            delay = max_sleep_s if wakeup is None else (wakeup - self.clock.now_ms()) / 1000
            self._changed.clear()
            if delay > 0:
                try:
                    async with asyncio.timeout(min(delay, max_sleep_s)):
                        await self._changed.wait()
                except TimeoutError:
                    pass

    async def wait_idle(self) -> None:
        """Return when the runs in progress now have ended (a simulated clock's driver waits
        for jobs that do real I/O before it moves the clock on)."""
        running = [t.running for t in self._tasks.values() if t.running is not None]
        await asyncio.gather(*running, return_exceptions=True)

    async def stop(self) -> None:
        """Cancel the runs in progress and wait for them to end."""
        running = [t.running for t in self._tasks.values() if t.running is not None]
        for job in running:
            job.cancel()
        await asyncio.gather(*running, return_exceptions=True)

    def _start(self, task: _Task, now: int) -> None:
        task.last_start = now
        task.deadline = now + task.timeout_ms
        task.timing_out = False
        task.running = asyncio.create_task(self._run(task, now), name=f"scheduled:{task.name}")

    async def _run(self, task: _Task, started: int) -> None:
        error: str | None = None
        try:
            await task.job()
        except asyncio.CancelledError:
            if not task.timing_out:
                raise  # stopped from outside: the scheduler is shutting down
            current = asyncio.current_task()
            if current is not None:
                current.uncancel()
            task.timeouts += 1
            error = f"timed out after {task.timeout_ms / 1000:g} s"
            log.error("scheduled task timed out", task=task.name, timeout_s=task.timeout_ms / 1000)
        except Exception as exc:  # contain: a failing task never stops the others
            error = f"{type(exc).__name__}: {exc}"
            log.error("scheduled task failed", task=task.name, error=error, exc_info=exc)
        finally:
            task.running = None
            task.timing_out = False
        now = self.clock.now_ms()
        task.runs += 1
        task.last_duration_ms = now - started
        task.last_error = error
        if error is None:
            task.schedule_after_success(now)
        else:
            task.errors += 1
            task.schedule_after_failure(now)
        self._changed.set()
