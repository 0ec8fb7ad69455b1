"""The live event stream behind `/api/v1/events`: hub events fanned out to every connected
client through a bounded queue each.

Hub handlers must be fast and never wait, so an event is encoded once (only while someone
listens) and offered to each client's queue without blocking: a client that does not keep up
loses events (counted, and told with a `dropped` event) instead of slowing the trading loop.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import msgspec
from prometheus_client import CollectorRegistry, Counter, Gauge

from trading_bot.core.events import (
    CandleDataProcessed,
    EquityUpdated,
    Event,
    OrderFilled,
    PositionChanged,
    PositionClosed,
    TradingPaused,
    TradingResumed,
    TradingSignalGenerated,
)
from trading_bot.core.hub import EventHub, Priority

# event class -> the SSE event name clients listen for
STREAMED: dict[type[Event], str] = {
    CandleDataProcessed: "candle",
    TradingSignalGenerated: "signal",
    OrderFilled: "fill",
    PositionChanged: "position",
    PositionClosed: "trade",
    EquityUpdated: "equity",
    TradingPaused: "paused",
    TradingResumed: "resumed",
}
DROPPED = "dropped"

_encoder = msgspec.json.Encoder()


@dataclass(frozen=True, slots=True)
class StreamItem:
    seq: int | None  # None: not a hub event
    name: str
    data: str  # JSON


def encode(event: Event) -> str:
    """The event as JSON, taken now: positions are mutated in place after their event."""
    payload: Any = event
    if isinstance(event, CandleDataProcessed):
        payload = {"candle": event.candle._asdict()}  # a NamedTuple would become an array
    return _encoder.encode(payload).decode()


class StreamClient:
    """One connected client's queue; `None` in it ends the stream."""

    def __init__(self, backlog: int, dropped_total: Counter) -> None:
        self.queue: asyncio.Queue[StreamItem | None] = asyncio.Queue(backlog)
        self.dropped = 0  # since the client was last told
        self.ending = False
        self._dropped_total = dropped_total

    def offer(self, item: StreamItem) -> None:
        if self.ending:
            return
        try:
            self.queue.put_nowait(item)
        except asyncio.QueueFull:
            self.dropped += 1
            self._dropped_total.inc()

    def end(self) -> None:
        """Deliver what is queued, then stop."""
        self.ending = True
        with contextlib.suppress(asyncio.QueueFull):  # full: `items` sees `ending` once drained
            self.queue.put_nowait(None)

    async def items(self) -> AsyncIterator[StreamItem]:
        """What the client receives, with a `dropped` event before whatever follows a loss."""
        while not (self.ending and self.queue.empty()):
            item = await self.queue.get()
            if item is None:
                return
            if self.dropped:
                count = _encoder.encode({"count": self.dropped}).decode()
                yield StreamItem(None, DROPPED, count)
                self.dropped = 0
            yield item


class EventStream:
    def __init__(self, hub: EventHub, registry: CollectorRegistry, backlog: int) -> None:
        self.backlog = backlog
        self.clients: set[StreamClient] = set()
        self.closed = False
        self._seq = 0
        self._empty = asyncio.Event()
        self._empty.set()
        self._connected = Gauge(
            "trading_bot_api_stream_clients", "Clients of the event stream", registry=registry
        )
        self._connected.set_function(lambda: len(self.clients))
        self._dropped = Counter(
            "trading_bot_api_stream_dropped",
            "Events a slow stream client lost",
            registry=registry,
        )
        for kind in STREAMED:
            hub.subscribe(kind, self._on_event, Priority.NOTIFY)

    def _on_event(self, event: Event) -> None:
        self._seq += 1  # counted even unheard, so a client sees gaps as gaps
        if not self.clients:
            return
        item = StreamItem(self._seq, STREAMED[type(event)], encode(event))
        for client in self.clients:
            client.offer(item)

    @asynccontextmanager
    async def connect(self) -> AsyncIterator[StreamClient]:
        client = StreamClient(self.backlog, self._dropped)
        if self.closed:
            client.end()
        self.clients.add(client)
        self._empty.clear()
        try:
            yield client
        finally:
            self.clients.discard(client)
            if not self.clients:
                self._empty.set()

    async def wait_empty(self) -> None:
        """Until no client is connected (their connections closed, or `close` ended them)."""
        await self._empty.wait()

    def close(self) -> None:
        """End every stream (at shutdown), so that the server can close its connections."""
        self.closed = True
        for client in self.clients:
            client.end()
