"""Choosing an engine. Both run `worker.run_task` on the same shared candles, so the same
tasks give the same outcomes on either (each backtest is deterministic); only the order in
which outcomes come back differs."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from enum import StrEnum
from typing import Protocol

from trading_bot.core.errors import UserError
from trading_bot.core.settings import PipelineSettings
from trading_bot.optimize.candles import CandleArrays
from trading_bot.optimize.trials import Outcome, Task


class EngineFailed(UserError):
    """A worker died under a trial (killed, out of memory, a crash in native code): the trials
    that finished are kept, the rest were not run."""


class EngineKind(StrEnum):
    LOCAL = "local"
    RAY = "ray"


class Engine(Protocol):
    name: str

    def run(self, tasks: Sequence[Task]) -> Iterator[Outcome]:
        """Outcomes as they finish; closing the iterator early cancels the rest."""
        ...

    def close(self) -> None: ...


def open_engine(
    kind: EngineKind,
    candles: CandleArrays,
    settings: PipelineSettings,
    symbol: str,
    workers: int,
    ray_address: str | None = None,
) -> Engine:
    if workers < 1:
        raise ValueError(f"--workers must be at least 1, not {workers}")
    if kind is EngineKind.RAY:
        try:
            from trading_bot.optimize.ray_engine import RayEngine  # Ray is slow to import
        except ModuleNotFoundError as exc:
            raise ValueError(
                f"--engine ray needs Ray, which is not installed ({exc.name}): "
                "pip install 'trading-bot[ray]' (make install-dev has it)"
            ) from None
        return RayEngine(candles, settings, symbol, workers, ray_address)
    if ray_address:
        raise ValueError("--ray-address needs --engine ray")
    from trading_bot.optimize.local import LocalEngine

    return LocalEngine(candles, settings, symbol, workers)
