"""How the parameter sets to try are chosen: every combination (grid), a seeded random
sample of them, or optuna's TPE sampler (seeded) learning from the scores so far.

Optuna asks for batches of `OPTUNA_BATCH` sets, all run in parallel, then learns from them.
The batch size is fixed rather than the number of workers, so a run proposes the same sets on
any engine or worker count, and a resumed run proposes again the sets it had finished (they
are reused, not rerun).
"""

from __future__ import annotations

import math
import sys
from enum import StrEnum
from typing import Any

from trading_bot.optimize.runner import TrialRunner
from trading_bot.optimize.trials import Segment, Trial

SEED = 42
DEFAULT_TRIALS = 100
OPTUNA_BATCH = 8


class Method(StrEnum):
    GRID = "grid"
    RANDOM = "random"
    OPTUNA = "optuna"


def planned_trials(method: Method, size: int, trials: int | None) -> int:
    """How many trials one search runs; a user's impossible request is an error here."""
    if trials is not None and trials < 1:
        raise ValueError(f"--trials must be at least 1, not {trials}")
    if method is Method.GRID:
        if trials is not None:
            raise ValueError(
                f"--trials is for --method random or optuna; grid runs all {size:,} combinations"
            )
        return size
    wanted = DEFAULT_TRIALS if trials is None else trials
    return min(wanted, size) if method is Method.RANDOM else wanted


def search(
    runner: TrialRunner,
    method: Method,
    trials: int | None,
    bars: tuple[int, int],
    fold: int | None = None,
    segment: Segment = "all",
) -> list[Trial]:
    """Run one search over bars [start, stop) and return its trials."""
    space = runner.space
    count = planned_trials(method, space.size, trials)
    if method is Method.GRID:
        return runner.evaluate(list(space.grid()), bars, fold, segment)
    if method is Method.RANDOM:
        return runner.evaluate(space.sample(count, SEED), bars, fold, segment)
    return _optuna(runner, count, bars, fold, segment)


def _optuna(
    runner: TrialRunner, count: int, bars: tuple[int, int], fold: int | None, segment: Segment
) -> list[Trial]:
    import optuna  # slow to import; only this method needs it

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=SEED))
    space = runner.space
    results: list[Trial] = []
    while len(results) < count:
        asked = [study.ask() for _ in range(min(OPTUNA_BATCH, count - len(results)))]
        param_sets: list[dict[str, Any]] = [
            {
                **space.fixed,
                **{
                    spec.name: ask.suggest_categorical(spec.name, spec.values)
                    for spec in space.varying
                },
            }
            for ask in asked
        ]
        batch = runner.evaluate(param_sets, bars, fold, segment)
        for ask, trial in zip(asked, batch, strict=True):
            if trial.status == "ok" and trial.score is not None:
                study.tell(ask, _finite(trial.score))
            else:
                study.tell(ask, state=optuna.trial.TrialState.FAIL)
        results.extend(batch)
    return results


def _finite(score: float) -> float:
    """Optuna wants finite values; an infinite profit factor or Calmar is the largest float."""
    return math.copysign(sys.float_info.max, score) if math.isinf(score) else score
