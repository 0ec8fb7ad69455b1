"""Prometheus metrics of the running bot, in a registry of its own (tests build many apps).

Counts the hub keeps already (events published by type, handler failures) are read at scrape
time instead of being counted twice; what the hub does not know is counted by subscribers that
only increment (no I/O on the trading path). Gauges that mirror state read it at scrape time.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable, Iterable
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.registry import Collector

from trading_bot.api.tasks import TaskProvider, task_views
from trading_bot.control import BotControl
from trading_bot.core.events import (
    CandleDataProcessed,
    FeedRestored,
    FeedStale,
    OrderAccepted,
    OrderCanceled,
    OrderFilled,
    OrderRejected,
    OrderRequestGenerated,
    OrderSubmitted,
)
from trading_bot.core.hub import EventHub, Priority
from trading_bot.core.model import OrderStatus

FIRST, LAST = -1_000_000, 1_000_000  # hub priorities around everything else
MAX_REASONS = 30  # distinct rejection reasons before the rest count as "other"
_NUMBER = re.compile(r"[-+]?\d[\d.,:TZ-]*")
# candle close to order request: in-process work, microseconds to milliseconds
LATENCY_BUCKETS = (1e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 5e-3, 0.01, 0.025, 0.1, 0.5)


def reason_label(reason: str) -> str:
    """A bounded label for a rejection reason: its first clause, numbers and times as N."""
    head = re.split(r"[:(;]", reason, maxsplit=1)[0]
    return _NUMBER.sub("N", head).strip().lower()[:60] or "unspecified"


class _HubCounts(Collector):
    """The hub's own counters, exposed as they are at each scrape."""

    def __init__(self, hub: EventHub) -> None:
        self._hub = hub

    def collect(self) -> Iterable[Metric]:
        events = CounterMetricFamily(
            "trading_bot_events", "Events published on the hub, by type", labels=["type"]
        )
        for kind, count in sorted(self._hub.published.items()):
            events.add_metric([str(kind)], count)
        failures = CounterMetricFamily(
            "trading_bot_handler_failures",
            "Hub handlers that raised, by handler",
            labels=["handler"],
        )
        for handler, count in sorted(self._hub.failures.items()):
            failures.add_metric([handler], count)
        return [events, failures]

    def describe(self) -> Iterable[Metric]:
        return []  # collected fresh; nothing to check for clashes at registration


class BotMetrics:
    """Every metric of one bot; `registry` is what `/metrics` exposes."""

    def __init__(self, control: BotControl, hub: EventHub, tasks: TaskProvider) -> None:
        self.registry = registry = CollectorRegistry()
        self._control = control
        registry.register(_HubCounts(hub))
        self.candle_to_order = Histogram(
            "trading_bot_candle_to_order_seconds",
            "From a closed candle's dispatch to each order request it causes",
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.handler_seconds = Histogram(
            "trading_bot_handler_seconds",
            "Time in each event handler (including what it publishes in turn)",
            ["handler"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        hub.timer = self._time_handler
        self.feed_stale = Counter(
            "trading_bot_feed_stale",
            "Feeds going quiet or disconnected",
            ["source"],
            registry=registry,
        )
        self.feed_restored = Counter(
            "trading_bot_feed_restored",
            "Stale feeds delivering again",
            ["source"],
            registry=registry,
        )
        self.orders = Counter(
            "trading_bot_orders", "Orders reaching a status", ["status"], registry=registry
        )
        self.fills = Counter(
            "trading_bot_fills", "Fills by order role", ["role"], registry=registry
        )
        self.rejections = Counter(
            "trading_bot_rejections",
            "Refused signals and rejected orders, by the first clause of the reason",
            ["reason"],
            registry=registry,
        )
        self._gauge("trading_bot_equity", "Marked-to-market equity", self._equity)
        self._gauge("trading_bot_open_positions", "Open positions", self._open_positions)
        self._gauge("trading_bot_paused", "1 while new entries are paused", self._paused)
        self._gauge(
            "trading_bot_last_candle_age_seconds",
            "Seconds since the last closed candle should have arrived (feed lag); NaN before one",
            self._last_candle_age,
        )
        self._gauge(
            "trading_bot_tasks_failed",
            "Background tasks that ended with an error",
            lambda: sum(view.state == "failed" for view in task_views(tasks())),
        )
        self._reasons: set[str] = set()
        self._candle_started: int | None = None
        self._candle_depth = 0
        self._subscribe(hub)

    def _time_handler(self, handler: Callable[[Any], None], nanoseconds: int) -> None:
        name = getattr(handler, "__qualname__", type(handler).__name__)
        self.handler_seconds.labels(name).observe(nanoseconds / 1e9)

    def _gauge(self, name: str, doc: str, read: Callable[[], float]) -> None:
        Gauge(name, doc, registry=self.registry).set_function(read)

    def _subscribe(self, hub: EventHub) -> None:
        hub.subscribe(CandleDataProcessed, self._candle_start, FIRST)
        hub.subscribe(CandleDataProcessed, self._candle_end, LAST)
        hub.subscribe(OrderRequestGenerated, self._order_requested, FIRST)
        hub.subscribe(FeedStale, lambda e: self.feed_stale.labels(e.source).inc(), Priority.NOTIFY)
        hub.subscribe(
            FeedRestored, lambda e: self.feed_restored.labels(e.source).inc(), Priority.NOTIFY
        )
        hub.subscribe(OrderSubmitted, lambda e: self._order(OrderStatus.SUBMITTED), Priority.NOTIFY)
        hub.subscribe(OrderAccepted, lambda e: self._order(OrderStatus.ACCEPTED), Priority.NOTIFY)
        hub.subscribe(OrderCanceled, lambda e: self._order(OrderStatus.CANCELED), Priority.NOTIFY)
        hub.subscribe(OrderFilled, self._filled, Priority.NOTIFY)
        hub.subscribe(OrderRejected, self._rejected, Priority.NOTIFY)

    # -- subscribers: count only --------------------------------------------------------------

    def _candle_start(self, event: CandleDataProcessed) -> None:
        if self._candle_depth == 0:
            self._candle_started = time.perf_counter_ns()
        self._candle_depth += 1

    def _candle_end(self, event: CandleDataProcessed) -> None:
        self._candle_depth = max(0, self._candle_depth - 1)
        if self._candle_depth == 0:
            self._candle_started = None

    def _order_requested(self, event: OrderRequestGenerated) -> None:
        if self._candle_started is not None:  # not a command's request (close, shutdown)
            elapsed_ns = time.perf_counter_ns() - self._candle_started
            self.candle_to_order.observe(elapsed_ns / 1e9)

    def _order(self, status: OrderStatus) -> None:
        self.orders.labels(status.value).inc()

    def _filled(self, event: OrderFilled) -> None:
        fill = event.fill
        self.fills.labels(fill.role.value).inc()
        order = self._control.bot.pipeline.execution.get(fill.client_order_id)
        if order is not None and order.status is OrderStatus.FILLED:
            self._order(OrderStatus.FILLED)

    def _rejected(self, event: OrderRejected) -> None:
        if event.client_order_id is not None:
            self._order(OrderStatus.REJECTED)
        label = reason_label(event.reason)
        if label not in self._reasons:
            if len(self._reasons) >= MAX_REASONS:
                label = "other"
            else:
                self._reasons.add(label)
        self.rejections.labels(label).inc()

    # -- read at scrape time ------------------------------------------------------------------

    def _equity(self) -> float:
        return self._control.bot.pipeline.portfolio.equity

    def _open_positions(self) -> float:
        return self._control.bot.pipeline.portfolio.open_position_count()

    def _paused(self) -> float:
        return float(self._control.bot.pipeline.risk.paused)

    def _last_candle_age(self) -> float:
        age = self._control.health().last_candle_age_s
        return math.nan if age is None else age
