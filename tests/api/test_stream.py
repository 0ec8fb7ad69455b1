"""The Server-Sent Events stream: a real client receives candles and equity as they happen; a
slow client loses events (counted, and told) without ever slowing the hub."""

from __future__ import annotations

import asyncio
import json

from prometheus_client import CollectorRegistry

from trading_bot.api.stream import EventStream
from trading_bot.core.events import EquityUpdated, TradingPaused
from trading_bot.core.hub import EventHub

from .conftest import Served


async def test_a_client_receives_candles_and_equity(running: Served) -> None:
    seen: dict[str, dict[str, object]] = {}
    async with running.client.stream("GET", "/api/v1/events", timeout=10) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        name = None
        async for line in response.aiter_lines():
            if line.startswith("event: "):
                name = line.removeprefix("event: ")
            elif line.startswith("data: ") and name is not None:
                seen.setdefault(name, json.loads(line.removeprefix("data: ")))
            if {"candle", "equity"} <= seen.keys():
                break
    candle = seen["candle"]["candle"]
    assert isinstance(candle, dict) and candle["symbol"] == "SYN/USD" and candle["closed"]
    equity = seen["equity"]
    assert isinstance(equity["equity"], float) and isinstance(equity["time"], int)
    async with asyncio.timeout(5):  # the client's queue goes with its connection
        await running.api.stream.wait_empty()


async def test_a_slow_client_loses_events_counted_and_is_told() -> None:
    hub, registry = EventHub(), CollectorRegistry()
    stream = EventStream(hub, registry, backlog=2)
    async with stream.connect() as client:
        for time in range(5):
            hub.publish(EquityUpdated(time=time, equity=100.0 + time, cash=1.0))  # never waits
        hub.publish(TradingPaused(reason="test", time=5))
        stream.close()
        received = [(item.name, item.seq, json.loads(item.data)) async for item in client.items()]
    assert received[0] == ("dropped", None, {"count": 4})  # 3 equity updates and the pause
    assert [(name, seq) for name, seq, _ in received[1:]] == [("equity", 1), ("equity", 2)]
    assert received[1][2] == {"time": 0, "equity": 100.0, "cash": 1.0}
    assert registry.get_sample_value("trading_bot_api_stream_dropped_total") == 4
    assert not stream.clients


async def test_events_published_with_no_client_cost_no_encoding() -> None:
    hub = EventHub()
    stream = EventStream(hub, CollectorRegistry(), backlog=10)
    hub.publish(EquityUpdated(time=1, equity=float("nan"), cash=0.0))
    async with stream.connect() as client:
        hub.publish(EquityUpdated(time=2, equity=5.0, cash=0.0))
        stream.close()
        items = [item async for item in client.items()]
    assert [item.seq for item in items] == [2]  # the unheard first event still counted
