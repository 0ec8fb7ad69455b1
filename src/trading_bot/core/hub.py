"""The event hub: synchronous, in-order, depth-first dispatch on one thread.

A handler that raises is logged, counted and isolated: the other handlers still run and the
pipeline goes on. With a `timer` set (the live bot's metrics), each handler call is timed, in
nanoseconds, including what it publishes in turn; without one, dispatch pays nothing for it.
Handlers run by ascending priority, so the wiring order does not matter:
the simulated venue sees a candle before the portfolio marks it, the portfolio before the
strategy acts on it, and notifiers last.
"""

from __future__ import annotations

import bisect
from collections import Counter
from collections.abc import Callable
from time import perf_counter_ns
from typing import Any, TypeVar

import structlog

from trading_bot.core.events import Event, HandlerFailed

E = TypeVar("E", bound=Event)
Handler = Callable[[Any], None]

log = structlog.get_logger("trading_bot.hub")


class Priority:
    """Conventional priorities: lower runs first."""

    VENUE = 0
    DATA = 10
    PORTFOLIO = 20
    STRATEGY = 30
    RISK = 40
    EXECUTION = 50
    RECORDER = 80
    NOTIFY = 90


class EventHub:
    def __init__(self) -> None:
        self._handlers: dict[type[Event], tuple[Handler, ...]] = {}
        self._ranked: dict[type[Event], list[tuple[int, int, Handler]]] = {}
        self._sequence = 0
        self.published: Counter[str] = Counter()
        self.failures: Counter[str] = Counter()
        self.timer: Callable[[Handler, int], None] | None = None

    def subscribe(
        self, event_type: type[E], handler: Callable[[E], None], priority: int = 50
    ) -> None:
        ranked = self._ranked.setdefault(event_type, [])
        self._sequence += 1
        bisect.insort(ranked, (priority, self._sequence, handler), key=lambda r: r[:2])
        self._handlers[event_type] = tuple(h for _, _, h in ranked)

    def unsubscribe(self, event_type: type[E], handler: Callable[[E], None]) -> None:
        ranked = [r for r in self._ranked.get(event_type, []) if r[2] != handler]
        self._ranked[event_type] = ranked
        self._handlers[event_type] = tuple(h for _, _, h in ranked)

    def publish(self, event: Event) -> None:
        """Run every handler of the event now, in priority order, before returning."""
        self.published[event.type] += 1
        timer = self.timer
        for handler in self._handlers.get(type(event), ()):
            started = 0 if timer is None else perf_counter_ns()
            try:
                handler(event)
            except Exception as exc:  # isolate: one bad handler must not stop trading
                self._handler_failed(handler, event, exc)
            if timer is not None:
                timer(handler, perf_counter_ns() - started)

    def _handler_failed(self, handler: Handler, event: Event, exc: Exception) -> None:
        name = getattr(handler, "__qualname__", repr(handler))
        self.failures[name] += 1
        log.error(
            "handler failed",
            handler=name,
            event_type=str(event.type),
            error=f"{type(exc).__name__}: {exc}",
            exc_info=exc,
        )
        if not isinstance(event, HandlerFailed):
            self.publish(
                HandlerFailed(
                    handler=name, event_type=event.type, error=f"{type(exc).__name__}: {exc}"
                )
            )
