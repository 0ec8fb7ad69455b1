"""Clocks: every component reads time from an injected clock, never from `time.time()`.

Times are integer milliseconds since the Unix epoch (UTC), as venues send them.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    def now_ms(self) -> int:
        """Milliseconds since the epoch, UTC."""
        ...


class WallClock:
    """The real time, for live and paper runs."""

    def now_ms(self) -> int:
        return time.time_ns() // 1_000_000


class SimulatedClock:
    """A clock the driver moves forward (backtests and replays); it never goes backwards."""

    def __init__(self, start_ms: int = 0) -> None:
        self._now_ms = start_ms

    def now_ms(self) -> int:
        return self._now_ms

    def advance_to(self, ms: int) -> None:
        if ms > self._now_ms:
            self._now_ms = ms


def ms_to_datetime(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def ms_to_iso(ms: int) -> str:
    """ISO-8601 UTC with a trailing Z, the format of our data files and reports."""
    return ms_to_datetime(ms).strftime("%Y-%m-%dT%H:%M:%SZ")


def datetime_to_ms(value: datetime) -> int:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return int(value.timestamp() * 1000)


DAY_MS = 86_400_000


def day_start_ms(ms: int) -> int:
    """Start of the UTC day holding `ms`: the trading day of the daily loss limit."""
    return ms - ms % DAY_MS
