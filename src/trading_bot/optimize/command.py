"""`trading-bot optimize`: the whole command, for cli.py to call with the parsed options.

Errors a user can fix (a bad `--param`, an unknown strategy, a file that cannot be read, a
resume file of another run) raise ValueError, StrategyError or DataFileError with one clear
sentence. Ctrl-C stops the run, keeps the finished trials in the checkpoint and prints the
`--resume` to continue with; the exit code is then 130, as for any interrupted command.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import plotly.graph_objects as go
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

from trading_bot.core.settings import PipelineSettings, StrategySettings
from trading_bot.data.files import load_candles
from trading_bot.optimize.candles import CandleArrays
from trading_bot.optimize.engines import EngineFailed, EngineKind, open_engine
from trading_bot.optimize.html_report import chained_equity, heatmap, write_html
from trading_bot.optimize.objective import Objective, best_trial
from trading_bot.optimize.report import best_table, print_outcome, walk_forward_table
from trading_bot.optimize.runner import TrialRunner
from trading_bot.optimize.search import Method, planned_trials, search
from trading_bot.optimize.space import Space, parse_spec
from trading_bot.optimize.trials import (
    Checkpoint,
    ResultFile,
    RunHeader,
    Trial,
    load_done,
    write_result,
)
from trading_bot.optimize.walkforward import FoldResult, fold_json, make_folds
from trading_bot.optimize.walkforward import walk_forward as run_walk_forward
from trading_bot.strategies.registry import load_strategy_class

INTERRUPTED = 130
DEFAULT_CHECKPOINT = Path("trading-bot-optimize.checkpoint.jsonl")
_E = TypeVar("_E", Method, Objective, EngineKind)


def checkpoint_path(json_out: Path | None) -> Path:
    """Where finished trials are appended while the run goes: beside `--json OUT`, or in the
    current directory. It is removed when the run completes."""
    if json_out is None:
        return DEFAULT_CHECKPOINT
    return json_out.with_name(json_out.name + ".checkpoint.jsonl")


def optimize_command(
    strategy: str,
    data: Path,
    params: Sequence[str],
    method: str,
    trials: int | None,
    objective: str,
    min_trades: int,
    walk_forward: int | None,
    engine: str,
    workers: int | None,
    ray_address: str | None,
    json_out: Path | None,
    report_out: Path | None,
    resume: Path | None,
    console: Console,
    settings: PipelineSettings | None = None,
) -> int:
    """Run the optimization and print its results; the exit code (0, or 130 on Ctrl-C).
    `settings` supplies risk, execution, portfolio and instrument settings (the configuration's
    pipeline); only its strategy is replaced."""
    chosen_method = _choice(Method, method, "--method")
    chosen_objective = _choice(Objective, objective, "--objective")
    kind = _choice(EngineKind, engine, "--engine")
    if min_trades < 0:
        raise ValueError(f"--min-trades must be 0 or more, not {min_trades}")
    space = Space(load_strategy_class(strategy), [parse_spec(p) for p in params])
    per_search = planned_trials(chosen_method, space.size, trials)
    frame = load_candles(data)
    folds = make_folds(len(frame), walk_forward) if walk_forward is not None else None
    header = RunHeader(strategy=strategy, data=data.name, walk_forward=walk_forward)
    done = load_done(resume, header) if resume is not None else {}
    base = settings or PipelineSettings()
    pipeline = base.model_copy(update={"strategy": StrategySettings(name=strategy)})
    candles = CandleArrays.from_frame(frame)
    symbol = data.name.split(".")[0]
    total = per_search if folds is None else len(folds) * (per_search + 1)
    checkpoint = Checkpoint(checkpoint_path(json_out), header, done.values())
    pool = None
    try:
        with _progress(console, f"optimize {strategy} on {data.name}", total) as advance:

            def on_trial(trial: Trial) -> None:
                checkpoint.add(trial)
                advance()

            pool = open_engine(kind, candles, pipeline, symbol, workers or _cpus(), ray_address)
            runner = TrialRunner(pool, space, chosen_objective, min_trades, done, on_trial)
            if folds is None:
                search(runner, chosen_method, trials, (0, len(frame)))
                fold_results = None
            else:
                fold_results = run_walk_forward(runner, chosen_method, trials, folds)
    except EngineFailed as exc:
        raise EngineFailed(
            f"{exc}. The finished trials are kept in {checkpoint.path}: run the same command "
            f"with --resume {checkpoint.path} to continue"
        ) from None
    except KeyboardInterrupt:
        console.print(
            f"[yellow]interrupted:[/] the finished trials are kept in {checkpoint.path}; "
            f"run the same command with --resume {checkpoint.path} to continue",
            highlight=False,
        )
        return INTERRUPTED
    finally:
        checkpoint.close()
        if pool is not None:
            pool.close()

    every = sorted(runner.trials.values(), key=lambda trial: trial.number)
    names = space.names
    if fold_results is None:
        console.print(best_table(every, chosen_objective, names))
    else:
        console.print(walk_forward_table(fold_results, candles.times, chosen_objective, names))
    print_outcome(every, console)
    if json_out is not None:
        write_result(
            json_out,
            ResultFile(
                run=header,
                method=chosen_method.value,
                objective=chosen_objective.value,
                min_trades=min_trades,
                best=best_trial(t for t in every if t.segment == "all"),
                folds=None
                if fold_results is None
                else [fold_json(result, candles.times) for result in fold_results],
                trials=every,
            ),
        )
        console.print(f"JSON written to {json_out}")
    if report_out is not None:
        figures = _figures(runner, fold_results, candles, chosen_objective, base)
        title = f"Optimization of {strategy} on {data.name} ({chosen_objective.value})"
        notes = [
            f"{len(every):,} trials, method {chosen_method.value}, engine {kind.value}.",
            *(["SYNTHETIC DATA"] if candles.synthetic else []),
        ]
        write_html(report_out, title, notes, figures)
        console.print(f"HTML report written to {report_out}")
    checkpoint.path.unlink(missing_ok=True)
    return 0


def _figures(
    runner: TrialRunner,
    fold_results: list[FoldResult] | None,
    candles: CandleArrays,
    objective: Objective,
    settings: PipelineSettings,
) -> list[go.Figure]:
    names = runner.space.names
    trials = list(runner.trials.values())
    figures = []
    if len(names) >= 2:
        pair = (names[0], names[1])
        if fold_results is None:
            figures.append(heatmap(trials, pair, objective.value, f"{objective.value}"))
        for result in fold_results or ():
            fold = [t for t in trials if t.fold == result.fold.index and t.segment == "in"]
            title = f"{objective.value}, fold {result.fold.index + 1} in-sample"
            figures.append(heatmap(fold, pair, objective.value, title))
    if fold_results is not None:
        curves = []
        for result in fold_results:
            equity = runner.equity.get(result.out.key) if result.out else None
            if equity is not None:
                start, stop = result.fold.out_of_sample
                curves.append((candles.times[start:stop], equity))
        figures.append(chained_equity(curves, settings.portfolio.starting_cash))
    return figures


@contextmanager
def _progress(console: Console, label: str, total: int) -> Iterator[Callable[[], None]]:
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed:,}/{task.total:,} trials"),
        TimeRemainingColumn(),
        console=console,
        transient=True,
    ) as progress:
        task = progress.add_task(label, total=total)
        yield lambda: progress.advance(task)


def _choice(kind: type[_E], value: str, option: str) -> _E:
    try:
        return kind(value)
    except ValueError:
        allowed = "|".join(member.value for member in kind)
        raise ValueError(f"{option} must be one of {allowed}, not '{value}'") from None


def _cpus() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
