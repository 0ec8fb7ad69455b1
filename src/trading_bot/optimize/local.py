"""The local engine: a process pool on this machine.

Workers start with the "spawn" method (no fork of a parent holding threads, the same on every
OS). Each receives, once, the settings and where the shared candles are (`SharedCandles`, a
path), memory-maps them and builds its frame; a trial then carries only its parameters and
bar range, a few hundred bytes. Workers ignore SIGINT: Ctrl-C is the parent's to handle, which
keeps the finished trials and stops the pool.
"""

from __future__ import annotations

import multiprocessing
import signal
import tempfile
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

import pandas as pd

from trading_bot.core.settings import PipelineSettings
from trading_bot.optimize.candles import CandleArrays, SharedCandles
from trading_bot.optimize.engines import EngineFailed
from trading_bot.optimize.trials import Outcome, Task
from trading_bot.optimize.worker import run_task
from trading_bot.strategies.registry import load_strategy_class

_worker: tuple[pd.DataFrame, PipelineSettings, str] | None = None
"""This worker process's frame, settings and symbol, set once by `_start_worker`."""


def _start_worker(shared: SharedCandles, settings: PipelineSettings, symbol: str) -> None:
    global _worker
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    load_strategy_class(settings.strategy.name)  # imported here, not timed with the first trial
    _worker = (shared.open().frame(), settings, symbol)


def _run(task: Task) -> Outcome:
    assert _worker is not None, "worker started without its candles"
    return run_task(task, *_worker)


class LocalEngine:
    name = "local"

    def __init__(
        self, candles: CandleArrays, settings: PipelineSettings, symbol: str, workers: int
    ) -> None:
        self._directory = tempfile.TemporaryDirectory(prefix="trading-bot-optimize-")
        self.worker_args = (candles.save(Path(self._directory.name)), settings, symbol)
        """What each worker receives once at start (tests check it holds no candles)."""
        self.workers = workers
        self._pool = ProcessPoolExecutor(
            max_workers=workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start_worker,
            initargs=self.worker_args,
        )

    def run(self, tasks: Sequence[Task]) -> Iterator[Outcome]:
        """The outcomes in the order they finish; pending tasks are canceled when the caller
        stops early (Ctrl-C)."""
        futures: list[Future[Outcome]] = [self._pool.submit(_run, task) for task in tasks]
        try:
            for future in as_completed(futures):
                yield future.result()
        except BrokenProcessPool:
            raise EngineFailed(
                "a worker process died abruptly (out of memory, killed, or a crash in native "
                "code); fewer --workers use less memory"
            ) from None
        finally:
            for future in futures:
                future.cancel()

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._directory.cleanup()
