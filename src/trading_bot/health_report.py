"""The running bot's health in a small JSON file, rewritten every few seconds, so that
`trading-bot health` (and any monitoring) can ask without a network port or a running API.

A report says whether the bot was healthy and why not; a report older than a few intervals
means the bot is stuck or gone, and a report whose process no longer exists means it died
without removing it. The file is replaced atomically and readable by its owner only.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import structlog

log = structlog.get_logger("trading_bot.health")

REPORT_EVERY_S = 5.0
STALE_AFTER_REPORTS = 3  # a report this many intervals old: the bot is not responding


@dataclass(frozen=True, slots=True)
class HealthReport:
    time_ms: int  # wall clock
    pid: int
    every_s: float
    healthy: bool
    problems: list[str]
    mode: str
    equity: float
    open_positions: int
    last_candle_age_s: float | None


def write_report(path: Path, report: HealthReport) -> None:
    temporary = path.with_name(path.name + ".tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        json.dump(asdict(report), file)
    os.replace(temporary, path)


async def report_forever(
    path: Path, build: Callable[[], HealthReport], every_s: float = REPORT_EVERY_S
) -> None:
    while True:
        try:
            await asyncio.to_thread(write_report, path, build())
        except OSError as exc:
            log.warning("cannot write the health file", path=str(path), error=exc.strerror)
        await asyncio.sleep(every_s)


def verdict(path: Path, now_ms: int | None = None) -> tuple[bool, str]:
    """(healthy, one line for people) from the report at `path`."""
    now_ms = time.time_ns() // 1_000_000 if now_ms is None else now_ms
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        report = HealthReport(**data)
    except FileNotFoundError:
        return (
            False,
            f"no health report at {path}: the bot is not running (or bot.health_file differs)",
        )
    except (OSError, ValueError, TypeError) as exc:
        return False, f"the health report {path} is unreadable ({exc})"
    age_s = (now_ms - report.time_ms) / 1000
    if not _alive(report.pid):
        return False, f"the bot (pid {report.pid}) is gone; it stopped without cleaning up"
    if age_s > STALE_AFTER_REPORTS * report.every_s:
        return False, f"the bot (pid {report.pid}) has not reported for {age_s:.0f} s: stuck?"
    if not report.healthy:
        return False, "unhealthy: " + "; ".join(report.problems)
    candle = (
        ""
        if report.last_candle_age_s is None
        else f", last candle {report.last_candle_age_s:.0f} s ago"
    )
    return True, (
        f"healthy: {report.mode}, equity {report.equity:,.2f}, "
        f"{report.open_positions} open position(s){candle}"
    )


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: it exists
        return True
    return True
