"""Walk-forward analysis: optimize on the past, then test the chosen parameters on what follows.

Scheme (rolling, non-overlapping): the bars are cut into K consecutive folds of equal length;
in each fold the first 75% is in-sample (the search runs there) and the last 25% is
out-of-sample (the best in-sample parameters run there once, untouched by the search). No bar
belongs to two folds, so the K out-of-sample results are K independent tests, and they are
what a user should believe. Each out-of-sample backtest starts flat with fresh indicators,
like a new deployment; its equity curves, chained, show the strategy as it would have been
re-optimized and traded fold by fold.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from trading_bot.core.clock import ms_to_iso
from trading_bot.optimize.objective import best_trial
from trading_bot.optimize.runner import TrialRunner
from trading_bot.optimize.search import Method, search
from trading_bot.optimize.trials import Trial

IN_SAMPLE_FRACTION = 0.75
MIN_OUT_OF_SAMPLE_BARS = 20


@dataclass(frozen=True, slots=True)
class Fold:
    index: int
    in_sample: tuple[int, int]
    """Bars [start, stop) of the search."""
    out_of_sample: tuple[int, int]
    """Bars [start, stop) of the test; starts where the in-sample part stops."""


@dataclass(frozen=True, slots=True)
class FoldResult:
    fold: Fold
    best: Trial | None
    """The best in-sample trial; None when no trial was eligible."""
    out: Trial | None
    """The best parameters out-of-sample."""


def make_folds(bars: int, k: int) -> list[Fold]:
    if k < 1:
        raise ValueError(f"--walk-forward must be at least 1 fold, not {k}")
    edges = [round(bars * i / k) for i in range(k + 1)]
    folds = []
    for i in range(k):
        start, stop = edges[i], edges[i + 1]
        split = start + round((stop - start) * IN_SAMPLE_FRACTION)
        if stop - split < MIN_OUT_OF_SAMPLE_BARS:
            raise ValueError(
                f"{bars:,} candles are too few for {k} walk-forward folds: each out-of-sample "
                f"part needs {MIN_OUT_OF_SAMPLE_BARS} candles; use fewer folds or more data"
            )
        folds.append(Fold(i, (start, split), (split, stop)))
    return folds


def walk_forward(
    runner: TrialRunner, method: Method, trials: int | None, folds: list[Fold]
) -> list[FoldResult]:
    results = []
    for fold in folds:
        tried = search(runner, method, trials, fold.in_sample, fold.index, "in")
        best = best_trial(tried)
        out = None
        if best is not None:
            (out,) = runner.evaluate(
                [best.params], fold.out_of_sample, fold.index, "out", keep_equity=True
            )
        results.append(FoldResult(fold, best, out))
    return results


def fold_json(result: FoldResult, times: npt.NDArray[np.int64]) -> dict[str, Any]:
    """A fold for `--json`: its periods (first and last candle open times) and both results."""

    def period(bars: tuple[int, int]) -> dict[str, str]:
        start, stop = bars
        return {"first": ms_to_iso(int(times[start])), "last": ms_to_iso(int(times[stop - 1]))}

    best, out = result.best, result.out
    return {
        "fold": result.fold.index,
        "in_sample": period(result.fold.in_sample),
        "out_of_sample": period(result.fold.out_of_sample),
        "params": best.params if best else None,
        "in_sample_trial": best.number if best else None,
        "out_of_sample_trial": out.number if out else None,
        "in_sample_score": best.score if best else None,
        "out_of_sample_score": out.score if out else None,
        "out_of_sample_metrics": out.metrics if out else None,
    }
