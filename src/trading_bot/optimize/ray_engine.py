"""The Ray engine: the same trials on a Ray cluster, or a local Ray instance.

The candles go into the object store once (`ray.put`); workers read them zero-copy. Trials
travel in batches (about four per CPU of the cluster) so the per-task cost of Ray is paid per
batch, and outcomes are yielded as each batch comes back. With `address` the engine joins an
existing cluster (`ray start --head` elsewhere; its nodes need trading-bot installed);
without, it starts a local instance with `workers` CPUs and no dashboard. An instance already
running in this process (tests) is used as it is and left running.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from typing import Any

import ray

from trading_bot.core.settings import PipelineSettings
from trading_bot.optimize.candles import CandleArrays
from trading_bot.optimize.engines import EngineFailed
from trading_bot.optimize.trials import Outcome, Task
from trading_bot.optimize.worker import run_task

BATCHES_PER_CPU = 4


@ray.remote
def _run_batch(
    candles: CandleArrays, settings: PipelineSettings, symbol: str, tasks: list[Task]
) -> list[Outcome]:
    frame = candles.frame()
    return [run_task(task, frame, settings, symbol) for task in tasks]


class RayEngine:
    name = "ray"

    def __init__(
        self,
        candles: CandleArrays,
        settings: PipelineSettings,
        symbol: str,
        workers: int,
        address: str | None = None,
    ) -> None:
        self._owned = not ray.is_initialized()
        if self._owned:
            if address:
                ray.init(address=address, log_to_driver=False)
            else:
                ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False)
        resources: dict[str, float] = ray.cluster_resources()  # type: ignore[no-untyped-call]
        self.cpus = max(1, int(resources.get("CPU", 1)))
        self.data_ref: Any = ray.put(candles)
        """The one copy of the candles the cluster holds; tasks receive only this reference."""
        self._settings_ref = ray.put(settings)
        self._symbol = symbol

    def run(self, tasks: Sequence[Task]) -> Iterator[Outcome]:
        size = max(1, math.ceil(len(tasks) / (self.cpus * BATCHES_PER_CPU)))
        pending = [
            _run_batch.remote(
                self.data_ref, self._settings_ref, self._symbol, list(tasks[i : i + size])
            )
            for i in range(0, len(tasks), size)
        ]
        try:
            while pending:
                done, pending = ray.wait(pending, num_returns=1)
                yield from ray.get(done[0])
        except ray.exceptions.RayError as exc:  # a trial's own errors are outcomes, not these
            raise EngineFailed(f"a Ray worker failed: {type(exc).__name__}: {exc}") from None
        finally:
            for ref in pending:
                ray.cancel(ref)

    def close(self) -> None:
        if self._owned:
            ray.shutdown()
