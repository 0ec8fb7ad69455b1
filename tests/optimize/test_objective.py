from __future__ import annotations

import math

import pytest

from trading_bot.optimize.objective import Objective, best_trial, judge, objective_value, ranked
from trading_bot.optimize.trials import Trial

METRICS: dict[str, float | None] = {
    "total_return_pct": 12.0,
    "cagr_pct": 30.0,
    "sharpe": 1.5,
    "sortino": 2.0,
    "max_drawdown_pct": 10.0,
    "profit_factor": None,  # written as null: infinite in the run
    "trades": 8.0,
}


@pytest.mark.parametrize(
    ("objective", "expected"),
    [
        (Objective.SHARPE, 1.5),
        (Objective.SORTINO, 2.0),
        (Objective.RETURN, 12.0),
        (Objective.CALMAR, 3.0),
    ],
)
def test_objectives_read_the_metrics(objective: Objective, expected: float) -> None:
    assert objective_value(objective, METRICS) == expected


def test_calmar_without_drawdown() -> None:
    assert objective_value(Objective.CALMAR, {"cagr_pct": 5.0, "max_drawdown_pct": 0.0}) == math.inf
    assert math.isnan(objective_value(Objective.CALMAR, {"cagr_pct": 0.0, "max_drawdown_pct": 0.0}))


def test_too_few_trades_or_an_undefined_objective_is_ineligible() -> None:
    trial = Trial(number=0, params={}, metrics=METRICS)
    assert judge(trial, Objective.SHARPE, min_trades=8).status == "ok"
    few = judge(trial, Objective.SHARPE, min_trades=9)
    assert few.status == "ineligible" and few.error is not None and "fewer than" in few.error
    undefined = judge(trial, Objective.PROFIT_FACTOR, min_trades=0)
    assert undefined.status == "ineligible" and undefined.score is None
    # Re-judged with other settings (a resume), an ineligible trial can become eligible again.
    assert judge(few, Objective.SHARPE, min_trades=0).status == "ok"


def test_failed_and_skipped_trials_stay_so() -> None:
    failed = Trial(number=0, params={}, status="failed", error="boom")
    assert judge(failed, Objective.SHARPE, 0) == failed


def test_best_is_the_highest_eligible_score_and_the_lowest_number_on_a_tie() -> None:
    trials = [
        Trial(number=0, params={}, score=1.0),
        Trial(number=1, params={}, score=3.0, status="ineligible"),
        Trial(number=2, params={}, score=2.0),
        Trial(number=3, params={}, score=2.0),
        Trial(number=4, params={}, status="failed"),
    ]
    best = best_trial(trials)
    assert best is not None and best.number == 2
    assert [t.number for t in ranked(trials)] == [2, 3, 0]
    assert best_trial(trials[4:]) is None
