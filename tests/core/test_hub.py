from dataclasses import dataclass
from typing import ClassVar

from trading_bot.core.events import Event, EventType, FeedEnded, HandlerFailed
from trading_bot.core.hub import EventHub


@dataclass(slots=True)
class Ping(Event):
    type: ClassVar[EventType] = EventType.FEED_ENDED
    n: int


def test_handlers_run_in_priority_order_whatever_the_subscription_order() -> None:
    hub = EventHub()
    seen: list[str] = []
    hub.subscribe(Ping, lambda e: seen.append("notify"), priority=90)
    hub.subscribe(Ping, lambda e: seen.append("venue"), priority=0)
    hub.subscribe(Ping, lambda e: seen.append("strategy-1"), priority=30)
    hub.subscribe(Ping, lambda e: seen.append("strategy-2"), priority=30)
    hub.publish(Ping(1))
    assert seen == ["venue", "strategy-1", "strategy-2", "notify"]


def test_dispatch_is_depth_first_and_synchronous() -> None:
    hub = EventHub()
    seen: list[str] = []

    def first(event: Ping) -> None:
        seen.append(f"first {event.n}")
        if event.n == 1:
            hub.publish(Ping(2))

    hub.subscribe(Ping, first, priority=1)
    hub.subscribe(Ping, lambda e: seen.append(f"second {e.n}"), priority=2)
    hub.publish(Ping(1))
    assert seen == ["first 1", "first 2", "second 2", "second 1"]


def test_a_failing_handler_is_isolated_counted_and_reported() -> None:
    hub = EventHub()
    seen: list[int] = []
    failures: list[HandlerFailed] = []

    def broken(event: Ping) -> None:
        raise RuntimeError("boom")

    hub.subscribe(Ping, broken, priority=1)
    hub.subscribe(Ping, lambda e: seen.append(e.n), priority=2)
    hub.subscribe(HandlerFailed, failures.append)
    hub.publish(Ping(7))
    hub.publish(Ping(8))
    assert seen == [7, 8]
    assert sum(hub.failures.values()) == 2
    assert failures[0].error == "RuntimeError: boom"
    assert failures[0].event_type is EventType.FEED_ENDED


def test_a_failing_failure_handler_does_not_recurse() -> None:
    hub = EventHub()

    def broken(event: object) -> None:
        raise RuntimeError("boom")

    hub.subscribe(FeedEnded, broken)
    hub.subscribe(HandlerFailed, broken)
    hub.publish(FeedEnded("x", 0))
    assert sum(hub.failures.values()) == 2


def test_unsubscribe() -> None:
    hub = EventHub()
    seen: list[int] = []
    hub.subscribe(Ping, seen.append)
    hub.publish(Ping(1))
    hub.unsubscribe(Ping, seen.append)
    hub.publish(Ping(2))
    assert [p.n for p in seen] == [1]  # type: ignore[attr-defined]
