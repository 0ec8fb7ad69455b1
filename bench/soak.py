"""The 24-hour soak: a day of real BTC/USDT candles through the real `trading-bot run` command,
paper and live on the fake Binance, at high speed, with the stream cut, paused and refused, REST
failing, and Telegram and Discord down by turns (see tests/app/soak.py for the scenario).

It samples the bot's resident memory (/proc/<pid>/status) as it goes and fails (exit 1) if it
grew by more than --max-growth-mb between the end of the warm-up (the first market hour) and
the end, or if anything was lost (see tests/app/soak_checks.py): a candle not processed exactly
once, paper trades that differ from the backtest's, a live order missing or doubled at the venue
or books that differ from the account, a notification that Telegram or Discord never got.

Run with `.venv/bin/python bench/soak.py --hours 24` (about two minutes a mode at the default
speed); `--help` for the options. The `tests/app/test_soak_short.py` test runs two hours of it.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
import tempfile
from pathlib import Path
from typing import get_args

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the scenario lives beside the test that runs it short

from tests.app.soak import Mode, SoakPlan, SoakRun, run_soak, soak_candles  # noqa: E402
from tests.app.soak_checks import Findings, check_soak  # noqa: E402

SHARED_DATA = ROOT.parent / "shared" / "data"
MB = 1024  # kB


def memory(run: SoakRun, warmup_hours: float) -> dict[str, float]:
    """RSS (MB) after the warm-up, at the end and at the peak; growth in between."""
    warm = round(warmup_hours * 60)
    after = [s for s in run.samples if s.candles >= warm] or run.samples[-1:]
    start, end = after[0].rss_kb / MB, run.samples[-1].rss_kb / MB
    hours = max(run.plan.hours - warmup_hours, 1e-9)
    return {
        "start": start,
        "end": end,
        "max": run.peak_rss_kb / MB,
        "growth": end - start,
        "per_hour": (end - start) / hours,
    }


async def soak(
    mode: Mode, args: argparse.Namespace, workdir: Path, console: Console
) -> tuple[SoakRun, Findings]:
    plan = SoakPlan(mode, hours=args.hours, speed=args.speed, seed=args.seed)
    columns = (
        TextColumn(f"[bold]{mode:5}[/]"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("candles  RSS {task.fields[rss]:.1f} MB"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console) as progress:
        task = progress.add_task(mode, total=plan.candles, rss=0.0)
        run = await run_soak(
            plan,
            SHARED_DATA,
            workdir,
            lambda s: progress.update(task, completed=s.candles, rss=s.rss_kb / MB),
        )
    backtest = " and backtesting the candles" if mode == "paper" else ""
    console.print(f"{mode}: checking what the run left{backtest}...")
    return run, check_soak(run)


def summary(results: list[tuple[SoakRun, Findings]], args: argparse.Namespace) -> Table:
    table = Table(title=f"Soak: {args.hours:g} market hours at {args.speed:g} candles/s")
    table.add_column("")
    for run, _ in results:
        table.add_column(run.plan.mode, justify="right")

    def row(name: str, values: list[str]) -> None:
        table.add_row(name, *values)

    mem = [memory(run, args.warmup_hours) for run, _ in results]
    row("wall time", [f"{run.wall_s:.0f} s" for run, _ in results])
    keys = ("candles", "candles processed", "orders", "orders at the venue", "orders refused")
    for key in (*keys, "trades"):
        row(key, [str(f.figures.get(key, "-")) for _, f in results])
    row("faults injected", [str(sum(run.faults.values())) for run, _ in results])
    for key in ("notifications expected", "telegram delivered", "discord delivered"):
        row(key, [str(f.figures[key]) for _, f in results])
    row("notifications dropped", [str(f.figures["dropped (logged)"]) for _, f in results])
    row("RSS after warm-up", [f"{m['start']:.1f} MB" for m in mem])
    row("RSS at the end", [f"{m['end']:.1f} MB" for m in mem])
    row("RSS max", [f"{m['max']:.1f} MB" for m in mem])
    row("growth per market hour", [f"{m['per_hour'] * 1024:+.0f} kB" for m in mem])
    return table


def fault_table(results: list[tuple[SoakRun, Findings]]) -> Table:
    table = Table(title="Faults injected, and what failed because of them")
    table.add_column("")
    for run, _ in results:
        table.add_column(run.plan.mode, justify="right")
    for section in ("faults", "observed"):
        names = sorted({name for run, _ in results for name in getattr(run, section)})
        for name in names:
            table.add_row(name, *(str(getattr(run, section).get(name, 0)) for run, _ in results))
        table.add_section()
    return table


def write_samples(run: SoakRun) -> None:
    """The memory samples, for a plot: wall seconds, candles processed, RSS kB."""
    lines = [
        "wall_s,candles,rss_kb",
        *(f"{s.wall_s:.2f},{s.candles},{s.rss_kb}" for s in run.samples),
    ]
    (run.workdir / "rss.csv").write_text("\n".join(lines) + "\n")


def verdicts(results: list[tuple[SoakRun, Findings]], args: argparse.Namespace) -> Table:
    table = Table(title="Checks")
    for column in ("mode", "check", "", "detail"):
        table.add_column(column)
    for run, findings in results:
        growth = memory(run, args.warmup_hours)["growth"]
        checks = [
            *((c.name, c.ok, c.detail) for c in findings.checks),
            (
                "memory flat",
                growth <= args.max_growth_mb,
                f"{growth:+.1f} MB after the warm-up (limit {args.max_growth_mb:g} MB)",
            ),
        ]
        for name, ok, detail in checks:
            table.add_row(run.plan.mode, name, "[green]ok[/]" if ok else "[red]FAIL[/]", detail)
    return table


def passed(results: list[tuple[SoakRun, Findings]], args: argparse.Namespace) -> bool:
    return all(
        findings.ok and memory(run, args.warmup_hours)["growth"] <= args.max_growth_mb
        for run, findings in results
    )


async def main(args: argparse.Namespace) -> int:
    console = Console()
    try:
        soak_candles(SHARED_DATA, args.hours)
    except (ValueError, OSError) as exc:
        console.print(f"[red]--hours {args.hours:g}: {exc}[/]")
        return 2
    modes: tuple[Mode, ...] = get_args(Mode) if args.mode == "both" else (args.mode,)
    base = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="soak-"))
    results = []
    for mode in modes:
        workdir = base / mode
        workdir.mkdir(parents=True, exist_ok=False)
        results.append(await soak(mode, args, workdir, console))
        write_samples(results[-1][0])
    console.print(summary(results, args))
    console.print(fault_table(results))
    console.print(verdicts(results, args))
    ok = passed(results, args)
    if args.keep or not ok:
        console.print(f"The bots' files (configuration, database, logs, rss.csv): {base}")
    else:
        shutil.rmtree(base)
    console.print("[green]PASS[/]" if ok else "[red]FAIL[/]")
    return 0 if ok else 1


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Soak the bot: market hours of real candles, with faults, at high speed."
    )
    parser.add_argument("--hours", type=float, default=24.0, help="market hours (default 24)")
    parser.add_argument(
        "--speed",
        type=float,
        default=20.0,
        help="candles a second (default 20; live runs need at most 50: Binance's recvWindow)",
    )
    parser.add_argument("--mode", choices=("both", *get_args(Mode)), default="both")
    parser.add_argument("--seed", type=int, default=7, help="where the faults fall")
    parser.add_argument(
        "--warmup-hours", type=float, default=1.0, help="market hours before RSS counts"
    )
    parser.add_argument(
        "--max-growth-mb",
        type=float,
        default=10.0,
        help="RSS growth after the warm-up that fails the soak (default 10, for 24 hours)",
    )
    parser.add_argument("--keep", metavar="DIR", help="keep the bots' files in DIR (new)")
    args = parser.parse_args(argv)
    if args.mode != "paper" and not 0 < args.speed <= 50:
        parser.error("live runs need --speed between 0 and 50 (Binance's recvWindow)")
    return args


if __name__ == "__main__":
    sys.exit(asyncio.run(main(parse())))
