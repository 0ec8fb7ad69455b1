"""A stream's health as events: FEED_STALE once per kind of trouble, FEED_RESTORED once over."""

from __future__ import annotations

import structlog

from trading_bot.core.clock import Clock
from trading_bot.core.events import FeedRestored, FeedStale
from trading_bot.core.hub import EventHub

log = structlog.get_logger("trading_bot.venues")


class StreamHealth:
    """Every trouble is logged; people are told (an event) when the stream goes stale, when
    what it does about it changes (`doing`: reconnecting, polling, ...), and when it is back."""

    def __init__(self, hub: EventHub, clock: Clock, source: str) -> None:
        self.source = source
        self.doing: str | None = None  # None while healthy
        self._hub = hub
        self._clock = clock

    def stale(self, doing: str, detail: str) -> None:
        log.warning("stream stale", source=self.source, detail=detail)
        if self.doing == doing:
            return
        self.doing = doing
        self._hub.publish(FeedStale(self.source, detail, self._clock.now_ms()))

    def restored(self) -> None:
        if self.doing is None:
            return
        self.doing = None
        log.info("stream restored", source=self.source)
        self._hub.publish(FeedRestored(self.source, self._clock.now_ms()))
