"""Optimization throughput: backtests per second of sma_cross and ict on the local engine with
1 and 2 workers and on a local Ray instance with 2 CPUs, and each engine's per-trial overhead.

Runs a grid on the last `--bars` hourly BTCUSDT candles of ../shared/data. Per-trial overhead
is the worker time per trial not spent in the backtest itself: (wall time x workers - sum of
the backtests' own times) / trials; it is what dispatch, transfer of parameters and results,
and idle slots cost. Engine start (spawning the pool, starting Ray) is shown apart: it is paid
once per run. Run: `.venv/bin/python bench/bench_optimize.py`.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from trading_bot.core.settings import PipelineSettings, StrategySettings
from trading_bot.data.files import load_candles
from trading_bot.optimize.candles import CandleArrays
from trading_bot.optimize.engines import EngineKind, open_engine
from trading_bot.optimize.objective import Objective
from trading_bot.optimize.runner import TrialRunner
from trading_bot.optimize.search import Method, search
from trading_bot.optimize.space import Space, parse_spec
from trading_bot.strategies.registry import load_strategy_class

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "binance-BTCUSDT-1h.csv.gz"
GRIDS = {
    "sma_cross": ["fast=5:40:5", "slow=50:200:50"],  # 32 backtests
    "ict": ["swing_length=3,5,7,9", "r_multiple=1.5,2,3"],  # 12 backtests
}
ENGINES = ((EngineKind.LOCAL, 1), (EngineKind.LOCAL, 2), (EngineKind.RAY, 2))


def measure(
    strategy: str, candles: CandleArrays, bars: int, kind: EngineKind, workers: int
) -> tuple[float, float, int, float]:
    """(engine start s, grid wall s, trials, overhead per trial s)."""
    settings = PipelineSettings(strategy=StrategySettings(name=strategy))
    space = Space(load_strategy_class(strategy), [parse_spec(spec) for spec in GRIDS[strategy]])
    started = time.perf_counter()
    engine = open_engine(kind, candles, settings, "BTCUSDT", workers)
    try:
        # One trial per worker first, so the grid's timing excludes imports and warm-up (numba).
        warm = TrialRunner(engine, space, Objective.SHARPE, 0)
        warm.evaluate(list(space.grid())[:workers], (0, bars), fold=-1)
        opened = time.perf_counter() - started
        runner = TrialRunner(engine, space, Objective.SHARPE, 0)
        started = time.perf_counter()
        trials = search(runner, Method.GRID, None, (0, bars))
        wall = time.perf_counter() - started
    finally:
        engine.close()
    ran = [t for t in trials if t.status == "ok"]
    busy = sum(t.elapsed_s for t in ran)
    return opened, wall, len(ran), (wall * workers - busy) / len(ran)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bars", type=int, default=8_000, help="last N hourly candles")
    args = parser.parse_args()
    console = Console(width=max(Console().width, 100))  # the table fits a log file too
    frame = load_candles(DATA).iloc[-args.bars :]
    candles = CandleArrays.from_frame(frame)
    table = Table(title=f"Optimization grids on {len(frame):,} hourly BTCUSDT candles")
    for column in ("strategy", "engine", "workers", "start s", "trials", "wall s", "backtests/s"):
        table.add_column(column, justify="right")
    table.add_column("overhead/trial", justify="right")
    for strategy in GRIDS:
        for kind, workers in ENGINES:
            opened, wall, trials, overhead = measure(strategy, candles, len(frame), kind, workers)
            console.print(f"{strategy} {kind.value} x{workers}: {trials / wall:.1f} backtests/s")
            table.add_row(
                strategy,
                kind.value,
                str(workers),
                f"{opened:.1f}",
                str(trials),
                f"{wall:.2f}",
                f"{trials / wall:.1f}",
                f"{overhead * 1000:.0f} ms",
            )
    console.print(table)


if __name__ == "__main__":
    main()
