"""OANDA pricing-stream throughput: price lines parsed and turned into candles, per second.

Builds real PRICE lines (EUR/USD hourly mids from ../shared/data with their spreads, four prices
per candle, exactly as the fake OANDA streams them), then times the feed's per-line path on one
core: msgspec parsing of the line, its RFC 3339 time, the mid of bid and ask, the forming
candle and its publication as `MarketDataReceived` through a real EventHub and DataProcessor,
and the quote (QuoteUpdated).
Closed candles come from REST in the feed (one request per candle), so the REST side is timed
as candles decoded per second from 5000-candle pages. Target: 100,000 lines per second.
Run with `.venv/bin/python bench/bench_oanda_feed.py`.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from pathlib import Path

import aiohttp
from rich.console import Console
from rich.table import Table

from trading_bot.core.events import MarketDataReceived, QuoteUpdated
from trading_bot.core.hub import EventHub
from trading_bot.data.files import load_candles
from trading_bot.data.processor import DataProcessor
from trading_bot.testing.fake_oanda import FakeOanda
from trading_bot.venues.oanda.feed import PriceCandles, quote_of
from trading_bot.venues.oanda.rest import auth_headers
from trading_bot.venues.oanda.schemas import (
    StreamPrice,
    candles_decoder,
    rfc3339_ms,
    stream_decoder,
)
from trading_bot.venues.oanda.stream import LineParser

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "oanda-EURUSD-1h.csv.gz"
SYMBOL = "EUR/USD"
HOUR = 3_600_000
TARGET = 100_000


def lines(candles: int) -> list[bytes]:
    fake = FakeOanda({SYMBOL: load_candles(DATA).iloc[:candles]})
    return [line.encode() + b"\n" for _, line in fake.lines()]


def run(messages: list[bytes]) -> tuple[float, float, int]:
    """Seconds to parse only, seconds for the whole path, and forming updates published."""
    parser = LineParser(stream_decoder)
    started = time.perf_counter()
    for message in messages:
        parser.parse(message)
    parse_s = time.perf_counter() - started

    hub = EventHub()
    processor = DataProcessor(hub)
    builder = PriceCandles(SYMBOL, HOUR, "mid")
    parse, add, publish = parser.parse, builder.add, hub.publish
    published = 0
    started = time.perf_counter()
    for message in messages:
        price = parse(message)
        if isinstance(price, StreamPrice):
            time_ms = rfc3339_ms(price.time)
            bid, ask = price.bid(), price.ask()
            candle = add(time_ms, bid, ask)
            if candle is not None:
                publish(MarketDataReceived(candle))
                published += 1
            quote = quote_of(SYMBOL, time_ms, bid, ask)
            if quote is not None:
                publish(QuoteUpdated(quote))
    total_s = time.perf_counter() - started
    assert processor.forming(SYMBOL, HOUR) is not None
    return parse_s, total_s, published


async def page_body(candles: int) -> bytes:
    """A 5000-candle answer of the fake's candles endpoint (mid, bid and ask)."""
    frame = load_candles(DATA).iloc[:candles]
    end = int(frame.index[-1].value // 1_000_000) + HOUR
    async with FakeOanda({SYMBOL: frame}, live_from_ms=end) as fake:
        headers = auth_headers(fake.settings(timeframe="1h"))
        async with aiohttp.ClientSession(headers=headers) as session:
            url = f"{fake.url}/v3/instruments/EUR_USD/candles"
            params = {"granularity": "H1", "price": "MBA", "count": "5000", "from": "0"}
            async with session.get(url, params=params) as reply:
                return await reply.read()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--candles", type=int, default=50_000, help="hourly candles streamed")
    args = parser.parse_args()
    console = Console()
    messages = lines(args.candles)
    parse_s, total_s, published = run(messages)
    table = Table(title=f"{len(messages):,} OANDA price lines ({published:,} candle updates)")
    for column in ("path", "seconds", "per second", "target"):
        table.add_column(column, justify="right")
    table.add_row("parse (msgspec)", f"{parse_s:.3f}", f"{len(messages) / parse_s:,.0f}", "")
    rate = len(messages) / total_s
    verdict = "[green]met[/]" if rate >= TARGET else "[red]missed[/]"
    table.add_row(
        "parse + time + mid + candle + DataProcessor + quote",
        f"{total_s:.3f}",
        f"{rate:,.0f}",
        f"{TARGET:,} {verdict}",
    )
    body = asyncio.run(page_body(5000))
    started = time.perf_counter()
    rounds = 20
    for _ in range(rounds):
        decoded = candles_decoder.decode(body)
    decode_s = (time.perf_counter() - started) / rounds
    count = len(decoded.candles)
    table.add_row(
        f"REST page decode ({count:,} candles: mid, bid, ask)",
        f"{decode_s:.4f}",
        f"{count / decode_s:,.0f} candles",
        "",
    )
    console.print(table)


if __name__ == "__main__":
    main()
