"""Binance kline throughput: stream frames parsed and pushed through the DataProcessor, per second.

Builds real kline frames (BTC/USDT and ETH/USDT 5m candles from ../shared/data, four updates per
candle, exactly as the fake Binance sends them), then times the feed's per-message path on one
core: msgspec parsing of the combined-stream envelope, translation to a `Candle` (symbol mapping,
interval check), and publication as `MarketDataReceived` through a real EventHub and
DataProcessor, which publishes every closed candle once. Target: 100,000 messages per second.
Run with `.venv/bin/python bench/bench_binance_feed.py`.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from trading_bot.core.events import CandleDataProcessed, MarketDataReceived
from trading_bot.core.hub import EventHub
from trading_bot.core.model import Instrument
from trading_bot.data.files import load_candles
from trading_bot.data.processor import DataProcessor
from trading_bot.testing.fake_binance import FakeBinance
from trading_bot.venues.binance.feed import KlineTranslator
from trading_bot.venues.binance.markets import Market, Markets
from trading_bot.venues.binance.schemas import StreamKline
from trading_bot.venues.binance.stream import FrameParser

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
SYMBOLS = {"BTC/USDT": "binance-BTCUSDT-5m.csv.gz", "ETH/USDT": "binance-ETHUSDT-5m.csv.gz"}
TARGET = 100_000


def frames(candles_per_symbol: int) -> list[str]:
    data = {s: load_candles(DATA / f).iloc[:candles_per_symbol] for s, f in SYMBOLS.items()}
    return [frame for _, frame in FakeBinance(data, "5m", updates_per_candle=4).updates()]


def run(messages: list[str]) -> tuple[float, float, int]:
    """Seconds to parse only, seconds for the whole path, and closed candles published."""
    markets = Markets(Market(s, s.replace("/", ""), "TRADING", Instrument(s)) for s in SYMBOLS)
    parser = FrameParser()
    started = time.perf_counter()
    for message in messages:
        parser.parse(message)
    parse_s = time.perf_counter() - started

    hub = EventHub()
    DataProcessor(hub)
    closed = [0]
    hub.subscribe(CandleDataProcessed, lambda e: closed.__setitem__(0, closed[0] + 1))
    translate = KlineTranslator(markets, list(SYMBOLS), "5m", parser).candle
    parse, publish = parser.parse, hub.publish
    started = time.perf_counter()
    for message in messages:
        kline = parse(message)
        if isinstance(kline, StreamKline):
            candle = translate(kline)
            if candle is not None:
                publish(MarketDataReceived(candle))
    return parse_s, time.perf_counter() - started, closed[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--candles", type=int, default=50_000, help="candles per symbol")
    args = parser.parse_args()
    console = Console()
    messages = frames(args.candles)
    parse_s, total_s, closed = run(messages)
    table = Table(title=f"{len(messages):,} Binance kline messages ({closed:,} closed candles)")
    for column in ("path", "seconds", "messages/s", "target"):
        table.add_column(column, justify="right")
    table.add_row("parse (msgspec)", f"{parse_s:.3f}", f"{len(messages) / parse_s:,.0f}", "")
    rate = len(messages) / total_s
    verdict = "[green]met[/]" if rate >= TARGET else "[red]missed[/]"
    table.add_row(
        "parse + candle + DataProcessor", f"{total_s:.3f}", f"{rate:,.0f}", f"{TARGET:,} {verdict}"
    )
    console.print(table)


if __name__ == "__main__":
    main()
