"""Latency from a closing kline frame to the order request leaving the pipeline.

Real BTC/USDT 5m candles become the exact kline frames Binance sends (four per candle, via the
fake's `updates()`); each frame is parsed, translated and published as the feed does, through a
real DataProcessor, strategy (`sma_cross` 3/8, so that crosses are frequent), risk manager and
execution engine; the time from receiving a closing frame to the `ORDER_REQUEST_GENERATED`
event it causes is measured in-process (the loopback network adds tens of microseconds on
top). Target: p99 below 1 ms. Run with `.venv/bin/python bench/bench_pipeline_latency.py`.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from trading_bot.core.clock import WallClock
from trading_bot.core.events import MarketDataReceived, OrderRequestGenerated
from trading_bot.core.model import Instrument
from trading_bot.core.settings import PipelineSettings, StrategySettings
from trading_bot.data.files import load_candles
from trading_bot.pipeline import build_pipeline
from trading_bot.strategies.registry import build_strategy
from trading_bot.testing.fake_binance import FakeBinance
from trading_bot.venues.binance.feed import KlineTranslator
from trading_bot.venues.binance.markets import Market, Markets
from trading_bot.venues.binance.schemas import StreamKline
from trading_bot.venues.binance.stream import FrameParser

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
SYMBOL = "BTC/USDT"
FIVE_MINUTES = 300_000


def main() -> None:
    frame = load_candles(DATA / "binance-BTCUSDT-5m.csv.gz").iloc[:20_000]
    messages = [m for _, m in FakeBinance({SYMBOL: frame}, "5m", updates_per_candle=4).updates()]
    settings = PipelineSettings(
        strategy=StrategySettings(name="sma_cross", params={"fast": 3, "slow": 8})
    )
    strategy = build_strategy("sma_cross", {"fast": 3, "slow": 8}, SYMBOL, FIVE_MINUTES)
    instrument = Instrument(SYMBOL)
    pipeline = build_pipeline(settings, WallClock(), strategy, instrument)
    markets = Markets([Market(SYMBOL, "BTCUSDT", "TRADING", instrument)])
    parser = FrameParser()
    translate = KlineTranslator(markets, [SYMBOL], "5m", parser).candle
    requested: list[int] = []
    pipeline.hub.subscribe(
        OrderRequestGenerated, lambda e: requested.append(time.perf_counter_ns())
    )
    latencies: list[int] = []
    publish = pipeline.hub.publish
    for message in messages:
        received = time.perf_counter_ns()
        kline = parser.parse(message)
        if not isinstance(kline, StreamKline):
            continue
        candle = translate(kline)
        if candle is None:
            continue
        before = len(requested)
        publish(MarketDataReceived(candle))
        if candle.closed and len(requested) > before:
            latencies.append(requested[before] - received)
    micros = np.array(latencies) / 1000
    table = Table(title=f"closing kline frame -> order request ({len(micros):,} orders)")
    for column in ("p50 µs", "p90 µs", "p99 µs", "max µs"):
        table.add_column(column, justify="right")
    table.add_row(*(f"{np.percentile(micros, q):.1f}" for q in (50, 90, 99, 100)))
    Console().print(table)


if __name__ == "__main__":
    main()
