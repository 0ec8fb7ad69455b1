"""What the bot's background tasks are doing, for `/api/v1/tasks` and the metrics.

There is no scheduler yet: the tasks are the named asyncio tasks of the running loop (the app
names each of its jobs). A task that ended is only seen if the provider keeps it (give
`create_api` the app's own task list for that).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Literal

TaskProvider = Callable[[], Iterable["asyncio.Task[Any]"]]
DEFAULT_NAME = "Task-"  # asyncio's name for tasks nobody named


@dataclass(frozen=True, slots=True)
class TaskView:
    name: str
    state: Literal["running", "done", "cancelled", "failed"]
    error: str | None = None  # the exception's type only: its text may hold anything


def named_tasks() -> list[asyncio.Task[Any]]:
    """The running loop's tasks that have a name of their own."""
    return [t for t in asyncio.all_tasks() if not t.get_name().startswith(DEFAULT_NAME)]


def task_views(tasks: Iterable[asyncio.Task[Any]]) -> list[TaskView]:
    return sorted((_view(task) for task in tasks), key=lambda view: view.name)


def _view(task: asyncio.Task[Any]) -> TaskView:
    name = task.get_name()
    if not task.done():
        return TaskView(name, "running")
    if task.cancelled():
        return TaskView(name, "cancelled")
    error = task.exception()
    if error is not None:
        return TaskView(name, "failed", type(error).__name__)
    return TaskView(name, "done")
