"""The terminal view of an optimization: the best parameter sets, the walk-forward folds side
by side, and what became of every trial (failed ones with their error)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
from rich import box
from rich.console import Console
from rich.table import Table

from trading_bot.backtest.metrics import format_number
from trading_bot.core.clock import ms_to_iso
from trading_bot.optimize.objective import Objective, ranked
from trading_bot.optimize.trials import Trial
from trading_bot.optimize.walkforward import FoldResult

TOP = 10
SHOWN_ERRORS = 5


def params_text(params: dict[str, object], names: Sequence[str]) -> str:
    """The varying parameters only (the fixed ones are the same on every row)."""
    shown = names or list(params)
    return ", ".join(f"{name}={params[name]}" for name in shown if name in params)


def best_table(trials: Sequence[Trial], objective: Objective, names: Sequence[str]) -> Table:
    table = Table(title=f"Best {TOP} by {objective.value}", box=box.SIMPLE_HEAD)
    for column in ("#", "params", objective.value, "return %", "max dd %", "trades", "win %"):
        table.add_column(column, justify="left" if column == "params" else "right")
    for trial in ranked(trials)[:TOP]:
        table.add_row(
            str(trial.number),
            params_text(trial.params, names),
            _number(trial.score, ",.3f"),
            _metric(trial, "total_return_pct", ",.2f"),
            _metric(trial, "max_drawdown_pct", ",.2f"),
            _metric(trial, "trades", ",.0f"),
            _metric(trial, "win_rate_pct", ".1f"),
        )
    return table


def walk_forward_table(
    results: Sequence[FoldResult],
    times: npt.NDArray[np.int64],
    objective: Objective,
    names: Sequence[str],
) -> Table:
    """In-sample beside out-of-sample per fold: the out-of-sample columns are the honest ones."""
    table = Table(
        title="Walk-forward (rolling folds, 75% in-sample / 25% out)", box=box.SIMPLE_HEAD
    )
    for column in ("fold", "out-of-sample period", "best in-sample params"):
        table.add_column(column)
    for column in (f"IS {objective.value}", f"OOS {objective.value}", "OOS return %", "OOS trades"):
        table.add_column(column, justify="right")
    for result in results:
        start, stop = result.fold.out_of_sample
        period = f"{ms_to_iso(int(times[start]))[:10]} → {ms_to_iso(int(times[stop - 1]))[:10]}"
        best, out = result.best, result.out
        table.add_row(
            str(result.fold.index + 1),
            period,
            params_text(best.params, names) if best else "no eligible trial",
            _number(best.score if best else None, ",.3f"),
            _number(out.score if out else None, ",.3f"),
            _metric(out, "total_return_pct", ",.2f"),
            _metric(out, "trades", ",.0f"),
        )
    return table


def print_outcome(trials: Sequence[Trial], console: Console) -> None:
    """How many trials ran, were ineligible, skipped or failed, and the first errors."""
    counts: Counter[str] = Counter(trial.status for trial in trials)
    parts = [f"{counts[s]:,} {s}" for s in ("ok", "ineligible", "skipped", "failed") if counts[s]]
    console.print(f"{len(trials):,} trials: " + ", ".join(parts), highlight=False)
    failed = [trial for trial in trials if trial.status == "failed"]
    for trial in failed[:SHOWN_ERRORS]:
        console.print(
            f"  trial {trial.number} ({params_text(trial.params, [])}) failed: {trial.error}",
            markup=False,
            highlight=False,
        )
    if len(failed) > SHOWN_ERRORS:
        console.print(f"  ... and {len(failed) - SHOWN_ERRORS} more (see --json)")


def _metric(trial: Trial | None, name: str, spec: str) -> str:
    return _number(trial.metrics.get(name) if trial else None, spec)


def _number(value: float | None, spec: str) -> str:
    return "n/a" if value is None else format_number(value, spec)
