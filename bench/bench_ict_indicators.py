"""ICT indicator throughput: ours beside smartmoneyconcepts on the same synthetic candles.

Batch: our swing_highs_lows + fvg + market_structure on N candles (default 1,000,000), timed
after a warm-up run on a small frame, so that numba's compilation (or cache load) is reported
apart; then smartmoneyconcepts' swing_highs_lows + fvg + bos_choch on the first M of the same
candles (default 100,000: on a million it takes minutes). Its time is scaled to N linearly, which
flatters it: its fvg mitigation and bos_choch loops grow faster than linearly (measured: 434 s
on the full million, about 5x its time on 100,000 scaled up; `--smc-bars 1000000` to see it).
Incremental: microseconds per candle of each tracker, fed closed candles one by one as a live
feed does. Run with `.venv/bin/python bench/bench_ict_indicators.py`.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import pandas as pd
from rich.console import Console
from rich.table import Table

from trading_bot.core.model import Candle
from trading_bot.data.files import iter_candles
from trading_bot.data.synthetic import generate_candles
from trading_bot.strategies.ict.indicators.fvg import FvgTracker, fvg
from trading_bot.strategies.ict.indicators.order_blocks import OrderBlockTracker
from trading_bot.strategies.ict.indicators.structure import (
    AtrTracker,
    StructureTracker,
    market_structure,
)
from trading_bot.strategies.ict.indicators.swings import SwingTracker, swing_highs_lows

MINUTE = 60_000
START_MS = 1_704_067_200_000  # 2024-01-01T00:00:00Z
SEED = 7


def run_ours(frame: pd.DataFrame, swing_length: int) -> float:
    started = time.perf_counter()
    swing_highs_lows(frame, swing_length)
    fvg(frame)
    market_structure(frame, swing_length)
    return time.perf_counter() - started


def run_smc(frame: pd.DataFrame, swing_length: int) -> float:
    from smartmoneyconcepts import smc  # prints a banner on import: only when benchmarked

    frame = frame.reset_index(drop=True)  # it slices some columns by label
    started = time.perf_counter()
    swings = smc.swing_highs_lows(frame, swing_length)
    smc.fvg(frame)
    smc.bos_choch(frame, swings)
    return time.perf_counter() - started


def per_candle_us(update: Callable[[Candle], object], feed: list[Candle]) -> float:
    started = time.perf_counter()
    for candle in feed:
        update(candle)
    return (time.perf_counter() - started) / len(feed) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bars", type=int, default=1_000_000, help="candles for ours")
    parser.add_argument("--smc-bars", type=int, default=100_000, help="candles for theirs")
    parser.add_argument("--live-bars", type=int, default=200_000, help="candles per tracker")
    parser.add_argument("--swing-length", type=int, default=10)
    args = parser.parse_args()
    console = Console()
    n = args.swing_length
    frame = generate_candles(args.bars, MINUTE, SEED, START_MS)

    compile_s = run_ours(frame.iloc[:1000], n)
    ours_s = run_ours(frame, n)
    smc_frame = frame.iloc[: args.smc_bars]
    smc_s = run_smc(smc_frame, n)
    smc_scaled = smc_s * len(frame) / len(smc_frame)
    batch = Table(
        title=f"swings + fair value gaps + structure (swing length {n}), synthetic 1m candles "
        f"(seed {SEED})"
    )
    for column in ("engine", "candles", "seconds", "candles/s", f"seconds for {len(frame):,}"):
        batch.add_column(column, justify="right")
    batch.add_row(
        "trading-bot", f"{len(frame):,}", f"{ours_s:.3f}", f"{len(frame) / ours_s:,.0f}", ""
    )
    batch.add_row(
        "smartmoneyconcepts",
        f"{len(smc_frame):,}",
        f"{smc_s:.2f}",
        f"{len(smc_frame) / smc_s:,.0f}",
        f"{smc_scaled:.1f} (scaled)" if len(smc_frame) < len(frame) else f"{smc_s:.1f}",
    )
    console.print(batch)
    console.print(
        f"speed-up: {smc_scaled / ours_s:,.0f}x  (first call, which compiles the numba "
        f"kernels or loads them from numba's cache: {compile_s:.1f} s, not counted)"
    )

    feed = list(iter_candles(frame.iloc[: args.live_bars], "SYN/USD", MINUTE))
    live = Table(title=f"incremental, closed candles one by one ({len(feed):,} candles)")
    live.add_column("tracker")
    live.add_column("µs per candle", justify="right")
    trackers: dict[str, Callable[[Candle], object]] = {
        f"SwingTracker({n})": SwingTracker(n).update,
        "FvgTracker()": FvgTracker().update,
        "AtrTracker(14)": AtrTracker(14).update,
        f"StructureTracker({n})": StructureTracker(n).update,
        f"OrderBlockTracker({n}, 1.5, 14)": OrderBlockTracker(n, 1.5, 14).update,
    }
    for name, update in trackers.items():
        live.add_row(name, f"{per_candle_us(update, feed):.2f}")
    console.print(live)


if __name__ == "__main__":
    main()
