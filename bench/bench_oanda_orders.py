"""OANDA close-to-order latency against the fake: from the price that closes a candle to the
order arriving at the venue, p50 and p99.

The whole live path runs on one event loop over loopback HTTP, as in production: the fake OANDA
streams real EUR/USD prices (hourly candles relabelled as 5 s ones); the feed sees a price
stamped past a candle's end, fetches the closed candle from REST (`complete` only), publishes it
through the DataProcessor; a stand-in strategy answers every closed candle with a market order
(buy, then sell, alternately), which the RiskManager-free path hands to the ExecutionEngine and
the OandaBroker, which POSTs it. Times are `time.perf_counter()` on both sides (same process).
Run with `.venv/bin/python bench/bench_oanda_orders.py`.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from decimal import Decimal
from pathlib import Path

from rich.console import Console
from rich.table import Table

from trading_bot.core.events import CandleDataProcessed, OrderRequestGenerated
from trading_bot.core.hub import EventHub
from trading_bot.core.model import Instrument, OrderRequest, OrderRole, OrderType, Side
from trading_bot.data.files import load_candles
from trading_bot.data.processor import DataProcessor
from trading_bot.execution.engine import ExecutionEngine
from trading_bot.testing.fake_binance import relabel
from trading_bot.testing.fake_oanda import FakeOanda
from trading_bot.testing.fake_oanda_trading import FakeOandaTrading
from trading_bot.venues.oanda import OandaBroker, OandaFeed, OandaRest, OandaTrading

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "oanda-EURUSD-1h.csv.gz"
SYMBOL = "EUR/USD"
TF = 5_000
START = 1_700_000_000_000
RULES = Instrument(SYMBOL, Decimal("0.00001"), Decimal(1), Decimal(1))


async def measure(candles: int, pace_s: float) -> list[float]:
    frame = relabel(load_candles(DATA).iloc[:candles], TF, START)
    fake = FakeOanda({SYMBOL: frame}, pace_s=pace_s, heartbeat_s=1.0)
    book = FakeOandaTrading(fake)
    closes: dict[int, float] = {}  # candle open time -> when the price closing it was made

    def on_price(name: str, time_ms: int, bid: Decimal, ask: Decimal) -> None:
        opened = time_ms - time_ms % TF
        closes.setdefault(opened - TF, time.perf_counter())

    fake.price_listeners.append(on_price)
    orders: dict[str, int] = {}  # client order id -> the candle it answers
    async with fake:
        settings = fake.settings(timeframe="5s", settle_s=0.0, reconnect_min_s=0.01)
        async with OandaRest(settings) as rest:
            hub = EventHub()
            processor = DataProcessor(hub)
            broker = OandaBroker(hub, fake.clock, OandaTrading(rest, lambda s: RULES))
            engine = ExecutionEngine(hub, fake.clock, broker)

            def strategy(event: CandleDataProcessed) -> None:
                side = Side.BUY if len(orders) % 2 == 0 else Side.SELL
                request = OrderRequest(
                    SYMBOL, side, OrderType.MARKET, Decimal(1000), OrderRole.ENTRY, 0
                )
                hub.publish(OrderRequestGenerated(request))
                orders[f"{engine.id_prefix}{engine.sequence}"] = event.candle.open_time

            hub.subscribe(CandleDataProcessed, strategy)
            feed = OandaFeed(
                hub, fake.clock, rest, settings, lambda s: processor.last_closed_time(s, TF)
            )
            tasks = [asyncio.create_task(feed.run()), asyncio.create_task(broker.run())]
            await fake.finished.wait()
            await broker.join()
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
    return [
        (book.received[cid] - closes[opened]) * 1000
        for cid, opened in orders.items()
        if cid in book.received and opened in closes
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--candles", type=int, default=500, help="candles streamed")
    parser.add_argument("--pace", type=float, default=0.005, help="seconds between prices")
    args = parser.parse_args()
    latencies = sorted(asyncio.run(measure(args.candles, args.pace)))
    table = Table(title=f"OANDA close-to-order latency, {len(latencies)} orders (ms)")
    for column in ("p50", "p90", "p99", "max"):
        table.add_column(column, justify="right")
    cut = statistics.quantiles(latencies, n=100)
    table.add_row(*(f"{v:.2f}" for v in (cut[49], cut[89], cut[98], latencies[-1])))
    Console().print(table)


if __name__ == "__main__":
    main()
