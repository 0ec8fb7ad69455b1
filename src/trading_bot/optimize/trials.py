"""Trials: what one backtest of a parameter set asked and what it gave, and their files.

A trial is identified by its key (the walk-forward fold, the segment and the parameters), so
a resumed run recognizes the trials an interrupted one finished. Finished trials are appended
to a JSON Lines checkpoint as they come back, so Ctrl-C or a crash loses only the running ones.
Non-finite numbers (an infinite profit factor, a NaN Sharpe) are written as null, like the
backtest's JSON.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Literal

import msgspec
import numpy as np
import numpy.typing as npt

Status = Literal["ok", "ineligible", "skipped", "failed"]
Segment = Literal["all", "in", "out"]
"""The whole data (no walk-forward), or a fold's in-sample or out-of-sample part."""


class Trial(msgspec.Struct, kw_only=True):
    number: int
    params: dict[str, Any]
    fold: int | None = None
    segment: Segment = "all"
    status: Status = "ok"
    score: float | None = None
    metrics: dict[str, float | None] = msgspec.field(default_factory=dict)
    error: str | None = None
    elapsed_s: float = 0.0

    @property
    def key(self) -> str:
        return trial_key(self.params, self.fold, self.segment)


def trial_key(params: dict[str, Any], fold: int | None, segment: Segment) -> str:
    return msgspec.json.encode(
        {"fold": fold, "segment": segment, "params": params}, order="sorted"
    ).decode()


class Task(msgspec.Struct, frozen=True):
    """What a worker receives: the trial and the bars [start, stop) to test it on; never the
    candles themselves (the workers already share them)."""

    trial: Trial
    start: int
    stop: int
    keep_equity: bool = False


@dataclass(slots=True)
class Outcome:
    """A worker's answer: the trial with status ok or failed, and its equity when asked."""

    trial: Trial
    equity: npt.NDArray[np.float64] | None = None


class RunHeader(msgspec.Struct, kw_only=True):
    """The first line of a checkpoint: what ran, so a resume on other inputs is refused."""

    strategy: str
    data: str
    walk_forward: int | None


class _Line(msgspec.Struct, kw_only=True):
    run: RunHeader | None = None
    trial: Trial | None = None


class Checkpoint:
    """Appends finished trials to a JSON Lines file, one flushed line each."""

    def __init__(self, path: Path, header: RunHeader, carried: Iterable[Trial] = ()) -> None:
        """`carried`: the trials of a resumed run, written first so that a second interruption
        loses none of them."""
        self.path = path
        self._file: IO[bytes] = path.open("wb")
        self._write(_Line(run=header))
        for trial in carried:
            self.add(trial)

    def add(self, trial: Trial) -> None:
        self._write(_Line(trial=trial))

    def _write(self, line: _Line) -> None:
        self._file.write(_ENCODER.encode(line) + b"\n")
        self._file.flush()

    def close(self) -> None:
        self._file.close()


class ResultFile(msgspec.Struct, kw_only=True):
    """The `--json` file: the run, the walk-forward folds when any, and every trial."""

    run: RunHeader
    method: str
    objective: str
    min_trades: int
    best: Trial | None
    folds: list[dict[str, Any]] | None
    trials: list[Trial]


def write_result(path: Path, result: ResultFile) -> None:
    path.write_bytes(msgspec.json.format(_ENCODER.encode(result)))


def load_done(path: Path, header: RunHeader) -> dict[str, Trial]:
    """The finished trials of a checkpoint (.jsonl) or a `--json` file, by key. Skipped trials
    are not carried over: checking a combination again costs nothing."""
    if not path.is_file():
        raise ValueError(f"--resume {path}: file not found")
    try:
        if path.suffix == ".jsonl":
            lines = [
                msgspec.json.decode(line, type=_Line)
                for line in path.read_bytes().splitlines()
                if line.strip()
            ]
            run = lines[0].run if lines else None
            trials = [line.trial for line in lines if line.trial is not None]
        else:
            result = msgspec.json.decode(path.read_bytes(), type=ResultFile)
            run, trials = result.run, result.trials
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise ValueError(
            f"--resume {path}: not an optimization checkpoint or result ({exc})"
        ) from None
    if run != header:
        raise ValueError(
            f"--resume {path}: it is a run of {run.strategy if run else '?'} on "
            f"{run.data if run else '?'} (walk-forward {run.walk_forward if run else '?'}); "
            "resume with the same --strategy, --data and --walk-forward"
        )
    return {trial.key: trial for trial in trials if trial.status != "skipped"}


_ENCODER = msgspec.json.Encoder()
