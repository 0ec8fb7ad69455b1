"""One trial in a worker process, the same code for every engine.

An exception in the strategy or the backtest becomes a failed trial carrying the error, so one
bad parameter set never ends a run of thousands.
"""

from __future__ import annotations

import time
from dataclasses import asdict

import msgspec
import pandas as pd

from trading_bot.backtest.runner import run_backtest
from trading_bot.core.settings import PipelineSettings, StrategySettings
from trading_bot.optimize.trials import Outcome, Task


def run_task(task: Task, frame: pd.DataFrame, settings: PipelineSettings, symbol: str) -> Outcome:
    trial = task.trial
    started = time.perf_counter()
    try:
        run_settings = settings.model_copy(
            update={"strategy": StrategySettings(name=settings.strategy.name, params=trial.params)}
        )
        result = run_backtest(frame.iloc[task.start : task.stop], run_settings, symbol)
    except Exception as exc:
        failed = msgspec.structs.replace(
            trial,
            status="failed",
            error=f"{type(exc).__name__}: {exc}",
            elapsed_s=time.perf_counter() - started,
        )
        return Outcome(failed)
    metrics: dict[str, float | None] = {
        name: float(value) for name, value in asdict(result.metrics).items()
    }
    done = msgspec.structs.replace(
        trial, status="ok", metrics=metrics, elapsed_s=time.perf_counter() - started
    )
    return Outcome(done, result.equity if task.keep_equity else None)
