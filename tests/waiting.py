"""Waiting for a running bot (or feed, broker, desk) to reach a state, without sleeping: the
condition is checked again each time `changed` is set, and a task that ends meanwhile fails the
wait at once with what ended it rather than after the timeout."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from typing import Any


async def wait_for(
    done: Callable[[], bool],
    changed: asyncio.Event,
    tasks: Iterable[asyncio.Task[Any]] = (),
    timeout: float = 30.0,
) -> None:
    async with asyncio.timeout(timeout):
        while not done():
            for task in tasks:
                if task.done():
                    if not task.cancelled():
                        task.result()  # raises what ended it
                    raise AssertionError(f"{task.get_name()} stopped")
            changed.clear()
            await changed.wait()
