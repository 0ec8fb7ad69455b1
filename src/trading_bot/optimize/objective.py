"""What an optimization maximizes, read from a trial's metrics.

`calmar` is the CAGR over the maximum drawdown (both in percent); with no drawdown it is +inf
for a gain and undefined otherwise, like the other ratios of `backtest.metrics`. A trial with
fewer closed trades than `--min-trades`, or whose objective is undefined (NaN: no trade, a
single bar), is ineligible: it is kept and reported, but never chosen as the best.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from enum import StrEnum

import msgspec

from trading_bot.optimize.trials import Trial


class Objective(StrEnum):
    SHARPE = "sharpe"
    SORTINO = "sortino"
    RETURN = "return"
    CALMAR = "calmar"
    PROFIT_FACTOR = "profit_factor"


def objective_value(objective: Objective, metrics: dict[str, float | None]) -> float:
    def metric(name: str) -> float:
        value = metrics.get(name)
        return math.nan if value is None else float(value)

    if objective is Objective.CALMAR:
        cagr, drawdown = metric("cagr_pct"), metric("max_drawdown_pct")
        if drawdown > 0:
            return cagr / drawdown
        return math.inf if cagr > 0 else math.nan
    name = {Objective.RETURN: "total_return_pct"}.get(objective, objective.value)
    return metric(name)


def judge(trial: Trial, objective: Objective, min_trades: int) -> Trial:
    """The trial with its score and its eligibility (failed and skipped trials stay so)."""
    if trial.status not in ("ok", "ineligible"):
        return trial
    score = objective_value(objective, trial.metrics)
    trades = int(trial.metrics.get("trades") or 0)
    status = "ok"
    error = None
    if trades < min_trades:
        status, error = "ineligible", f"{trades} trades, fewer than --min-trades {min_trades}"
    elif math.isnan(score):
        status, error = "ineligible", f"{objective.value} is undefined"
    return msgspec.structs.replace(
        trial, status=status, error=error, score=None if math.isnan(score) else score
    )


def best_trial(trials: Iterable[Trial]) -> Trial | None:
    """The eligible trial with the highest score; the lowest number wins a tie."""
    return next(iter(ranked(trials)), None)


def ranked(trials: Iterable[Trial]) -> list[Trial]:
    """Eligible trials, best first."""
    eligible = [t for t in trials if t.status == "ok" and t.score is not None]
    return sorted(eligible, key=lambda t: (-(t.score or 0.0), t.number))
