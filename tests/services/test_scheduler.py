"""The scheduler: a simulated day runs every task at its interval, never two runs of one task at
once, and a task that raises or hangs is contained, counted and retried with backoff."""

from __future__ import annotations

import asyncio
import itertools
import random
from collections import defaultdict

from tests.services.simtime import SimTimers, drive
from trading_bot.core.clock import DAY_MS, SimulatedClock, WallClock
from trading_bot.services.scheduler import Scheduler

START = 1_700_000_000_000 - 1_700_000_000_000 % DAY_MS
SECOND = 1000


class Recorder:
    """Per task: when each run started and ended, and the most runs seen at once."""

    def __init__(self, clock: SimulatedClock) -> None:
        self.clock = clock
        self.starts: dict[str, list[int]] = defaultdict(list)
        self.active: dict[str, int] = defaultdict(int)
        self.most_at_once: dict[str, int] = defaultdict(int)
        self.cancelled: dict[str, int] = defaultdict(int)

    def enter(self, name: str) -> None:
        self.starts[name].append(self.clock.now_ms())
        self.active[name] += 1
        self.most_at_once[name] = max(self.most_at_once[name], self.active[name])

    def leave(self, name: str) -> None:
        self.active[name] -= 1


async def test_a_simulated_day_runs_each_task_at_its_interval_and_contains_failures() -> None:
    clock = SimulatedClock(START)
    timers = SimTimers(clock)
    seen = Recorder(clock)
    scheduler = Scheduler(clock, random.Random(7))

    async def quick() -> None:
        seen.enter("quick")
        seen.leave("quick")

    async def slow() -> None:  # takes 100 s of the 600 s interval
        seen.enter("slow")
        try:
            await timers.sleep_until(clock.now_ms() + 100 * SECOND)
        finally:
            seen.leave("slow")

    async def flaky() -> None:  # fails its first three runs, then recovers
        seen.enter("flaky")
        seen.leave("flaky")
        if len(seen.starts["flaky"]) <= 3:
            raise ConnectionError("feed unreachable")

    async def hangs() -> None:  # never returns by itself
        seen.enter("hangs")
        try:
            await asyncio.get_running_loop().create_future()
        except asyncio.CancelledError:
            seen.cancelled["hangs"] += 1
            raise
        finally:
            seen.leave("hangs")

    scheduler.add("quick", quick, 300, jitter_s=30)
    scheduler.add("slow", slow, 600)
    scheduler.add("flaky", flaky, 3600, retry_s=5)
    scheduler.add("hangs", hangs, 1800, timeout_s=60, retry_s=10)

    await drive(scheduler, clock, timers, START + DAY_MS)

    info = {task.name: task for task in scheduler.tasks()}
    # every task at its interval: 288 five-minute slots, each run within its jitter
    quick_starts = seen.starts["quick"]
    assert len(quick_starts) == 288 == info["quick"].runs
    assert all(
        0 <= t - (START + i * 300 * SECOND) <= 30 * SECOND for i, t in enumerate(quick_starts)
    )
    assert len({t - START - i * 300 * SECOND for i, t in enumerate(quick_starts)}) > 1  # jittered
    assert seen.starts["slow"] == [START + i * 600 * SECOND for i in range(144)]
    assert info["slow"].last_duration_ms == 100 * SECOND
    # never two runs of one task at once
    assert all(most == 1 for most in seen.most_at_once.values())
    # the failing task: counted, retried after a growing backoff, then back on its interval
    flaky_starts = seen.starts["flaky"]
    gaps = [b - a for a, b in itertools.pairwise(flaky_starts)]
    assert info["flaky"].errors == 3
    assert 2_500 <= gaps[0] < 5_000 <= gaps[1] < 10_000 <= gaps[2] < 20_000
    assert gaps[3:] == [3600 * SECOND] * len(gaps[3:]) and len(gaps[3:]) >= 22
    assert info["flaky"].last_error is None
    # the hanging task: each run timed out (cancelled) after 60 s, and retried
    hangs_info = info["hangs"]
    assert hangs_info.runs == hangs_info.timeouts == hangs_info.errors == seen.cancelled["hangs"]
    assert hangs_info.runs >= 40
    assert hangs_info.last_duration_ms == 60 * SECOND
    assert hangs_info.last_error == "timed out after 60 s"
    hang_gaps = [b - a for a, b in itertools.pairwise(seen.starts["hangs"])]
    assert all(60 * SECOND < gap <= (60 + 1800) * SECOND for gap in hang_gaps)


async def test_a_run_that_overruns_its_slots_is_never_joined_and_the_slots_are_counted() -> None:
    clock = SimulatedClock(START)
    timers = SimTimers(clock)
    seen = Recorder(clock)
    scheduler = Scheduler(clock, random.Random(1))

    async def long_run() -> None:  # 150 s per run, every 60 s, with a timeout that allows it
        seen.enter("long")
        try:
            await timers.sleep_until(clock.now_ms() + 150 * SECOND)
        finally:
            seen.leave("long")

    scheduler.add("long", long_run, 60, timeout_s=600)
    await drive(scheduler, clock, timers, START + 3600 * SECOND)

    (info,) = scheduler.tasks()
    assert seen.most_at_once["long"] == 1
    starts = seen.starts["long"]
    assert all(b - a == 150 * SECOND for a, b in itertools.pairwise(starts))
    assert info.skipped > 0 and info.errors == 0
    # every 5 slots (300 s): 2 runs and 3 skipped slots; the 24th run still runs at the end
    assert (info.runs, info.skipped, info.running) == (23, 34, True)


async def test_run_drives_the_wall_clock_and_reports_each_task() -> None:
    scheduler = Scheduler(WallClock(), random.Random(3))
    ran = asyncio.Event()
    calls: list[str] = []

    async def ok() -> None:
        calls.append("ok")
        if calls.count("ok") >= 3:
            ran.set()

    async def broken() -> None:
        calls.append("broken")
        raise RuntimeError("boom")

    scheduler.add("ok", ok, 0.02)
    scheduler.add("broken", broken, 10, retry_s=60)
    driver = asyncio.create_task(scheduler.run(max_sleep_s=0.5))
    async with asyncio.timeout(5):
        await ran.wait()
    driver.cancel()
    await asyncio.gather(driver, return_exceptions=True)
    await scheduler.stop()

    info = {task.name: task for task in scheduler.tasks()}
    assert info["ok"].runs >= 3 and info["ok"].errors == 0
    assert info["broken"].runs == 1 and info["broken"].errors == 1
    assert info["broken"].last_error == "RuntimeError: boom"
    assert info["broken"].next_run > info["broken"].last_start  # type: ignore[operator]
    assert info["ok"].last_duration_ms is not None and not info["ok"].running


async def test_stop_cancels_runs_in_progress() -> None:
    clock = SimulatedClock(START)
    scheduler = Scheduler(clock)
    started = asyncio.Event()

    async def forever() -> None:
        started.set()
        await asyncio.get_running_loop().create_future()

    scheduler.add("forever", forever, 60)
    await scheduler.run_due()
    await started.wait()
    assert scheduler.tasks()[0].running
    await scheduler.stop()
    assert not scheduler.tasks()[0].running
    assert scheduler.tasks()[0].timeouts == 0  # a shutdown is not a timeout
