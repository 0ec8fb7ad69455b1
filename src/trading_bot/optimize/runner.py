"""Turns parameter sets into judged trials: validation, reuse of finished trials, dispatch.

Every trial, whatever its fate, goes to `on_trial` the moment it is known (the progress bar
and the checkpoint listen there). Trials get their numbers in the order they are asked for,
before any runs, so the numbering is the same on every engine and worker count.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import msgspec
import numpy as np
import numpy.typing as npt

from trading_bot.optimize.engines import Engine
from trading_bot.optimize.objective import Objective, judge
from trading_bot.optimize.space import Space
from trading_bot.optimize.trials import Segment, Task, Trial, trial_key

Equity = npt.NDArray[np.float64]


class TrialRunner:
    def __init__(
        self,
        engine: Engine,
        space: Space,
        objective: Objective,
        min_trades: int,
        done: dict[str, Trial] | None = None,
        on_trial: Callable[[Trial], None] | None = None,
    ) -> None:
        self.engine = engine
        self.space = space
        self.objective = objective
        self.min_trades = min_trades
        self.done = dict(done or {})
        """Trials finished by an earlier run (`--resume`), by key."""
        self.on_trial = on_trial
        self.trials: dict[str, Trial] = {}
        """Every trial of this run, by key, in the order they became known."""
        self.equity: dict[str, Equity] = {}

    def evaluate(
        self,
        param_sets: Sequence[dict[str, Any]],
        bars: tuple[int, int],
        fold: int | None = None,
        segment: Segment = "all",
        keep_equity: bool = False,
    ) -> list[Trial]:
        """Judged trials of `param_sets` on bars [start, stop), in the order given. A finished
        trial is reused, unless its equity is wanted (equity is not checkpointed)."""
        keys = [trial_key(params, fold, segment) for params in param_sets]
        tasks: list[Task] = []
        queued: set[str] = set()
        for params, key in zip(param_sets, keys, strict=True):
            if key in self.trials or key in queued:
                continue  # asked twice (a sampler may): one run answers both
            number = len(self.trials) + len(tasks)
            trial = Trial(number=number, params=params, fold=fold, segment=segment)
            problem = self.space.problem(params)
            earlier = self.done.get(key)
            if problem is not None:
                self._record(msgspec.structs.replace(trial, status="skipped", error=problem))
            elif earlier is not None and not keep_equity:
                self._record(msgspec.structs.replace(earlier, number=trial.number))
            else:
                tasks.append(Task(trial, bars[0], bars[1], keep_equity))
                queued.add(key)
        for outcome in self.engine.run(tasks) if tasks else ():
            if outcome.equity is not None:
                self.equity[outcome.trial.key] = outcome.equity
            self._record(outcome.trial)
        return [self.trials[key] for key in keys]

    def _record(self, trial: Trial) -> None:
        trial = judge(trial, self.objective, self.min_trades)
        self.trials[trial.key] = trial
        if self.on_trial is not None:
            self.on_trial(trial)
