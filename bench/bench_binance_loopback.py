"""Latency through the whole bot against the fake Binance on loopback: from the fake sending a
closing kline frame to the order it causes leaving our process over REST.

Everything is the production code: the WebSocket feed (aiohttp), the DataProcessor, `sma_cross`
(3/8, so that crosses are frequent), the risk manager, the execution engine, the Binance broker
and its signed REST client; the fake Binance (same process, real sockets on 127.0.0.1) streams
real BTC/USDT candles as 1s klines. Measured per candle whose close causes an order: the time
from the fake's send of the closing frame to our `POST /api/v3/order` going out (the HTTP
request, not its answer). This adds to `bench_pipeline_latency.py` the WebSocket receive, the
event loop's scheduling and the broker's queue. Target: p99 below 1 ms.
Run with `.venv/bin/python bench/bench_binance_loopback.py`.
"""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from trading_bot.core.hub import EventHub
from trading_bot.core.settings import PipelineSettings, RiskSettings, StrategySettings
from trading_bot.data.files import load_candles
from trading_bot.pipeline import build_pipeline
from trading_bot.strategies.registry import build_strategy
from trading_bot.testing.fake_binance import FakeBinance, relabel
from trading_bot.testing.fake_binance_trading import FakeBinanceTrading
from trading_bot.venues.binance.broker import BinanceBroker
from trading_bot.venues.binance.feed import BinanceFeed
from trading_bot.venues.binance.rest import BinanceRest
from trading_bot.venues.binance.schemas import VenueOrder
from trading_bot.venues.binance.trading import BinanceTrading, OrderSpec

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
SYMBOL = "BTC/USDT"
SECOND = 1_000
CANDLES = 3_000


class TimedTrading(BinanceTrading):
    """Notes when each new order's request goes out."""

    sent: list[int]

    async def new_order(
        self,
        spec: OrderSpec,
        response_type: str | None = "FULL",
        timestamps: list[int] | None = None,
    ) -> VenueOrder:
        self.sent.append(time.perf_counter_ns())
        return await super().new_order(spec, response_type, timestamps)


async def measure() -> tuple[np.ndarray, int]:
    real = load_candles(DATA / "binance-BTCUSDT-5m.csv.gz").iloc[:CANDLES]
    frame = relabel(real, SECOND, 1_700_000_000_000)
    fake = FakeBinance({SYMBOL: frame}, "1s", pace_s=0.002)
    venue = FakeBinanceTrading(fake)
    closes: list[int] = []  # when the fake sent each closing frame

    def on_update(venue_symbol: str, open_time: int, now: int, *_: float) -> None:
        if now == open_time + SECOND:
            closes.append(time.perf_counter_ns())

    fake.price_listeners.append(on_update)
    async with venue:
        settings = fake.settings(recv_window_ms=60_000, stale_after_s=30.0)
        async with BinanceRest(settings, fake.clock, credentials=venue.credentials) as rest:
            markets = await rest.markets()
            trading = TimedTrading(rest, markets)
            trading.sent = []
            strategy = build_strategy("sma_cross", {"fast": 3, "slow": 8}, SYMBOL, SECOND)
            pipeline_settings = PipelineSettings(
                strategy=StrategySettings(name="sma_cross"),
                risk=RiskSettings(position_size_pct=1.0, max_signal_age_s=0),
            )
            hub = EventHub()
            broker = BinanceBroker(hub, fake.clock, trading, markets)
            pipeline = build_pipeline(
                pipeline_settings,
                fake.clock,
                strategy,
                markets.instrument(SYMBOL),
                broker=broker,
                hub=hub,
            )
            processor = pipeline.processor
            feed = BinanceFeed(
                hub,
                fake.clock,
                rest,
                settings,
                [SYMBOL],
                "1s",
                lambda s: processor.last_closed_time(s, SECOND),
            )
            first = int(frame.index[0].value // 1_000_000)
            processor.restore_last_closed(SYMBOL, SECOND, first - SECOND)
            tasks = [asyncio.create_task(feed.run()), asyncio.create_task(broker.run())]
            await fake.finished.wait()
            await broker.join()
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
    latencies = []
    sent = iter(trading.sent)
    order = next(sent, None)
    for close, following in zip(closes, [*closes[1:], None], strict=True):
        # the first order sent after this close and before the next one is its order
        while order is not None and order < close:
            order = next(sent, None)
        if order is not None and (following is None or order < following):
            latencies.append(order - close)
    fills = sum(1 for o in venue.orders if o.executed > Decimal(0))
    return np.array(latencies) / 1000, fills


def main() -> None:
    micros, fills = asyncio.run(measure())
    table = Table(
        title=f"fake's closing kline frame -> our order request on loopback "
        f"({len(micros):,} orders, {fills:,} filled)"
    )
    for column in ("p50 µs", "p90 µs", "p99 µs", "max µs"):
        table.add_column(column, justify="right")
    table.add_row(*(f"{np.percentile(micros, q):.0f}" for q in (50, 90, 99, 100)))
    Console().print(table)


if __name__ == "__main__":
    main()
