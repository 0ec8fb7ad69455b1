"""The whole `optimize` command on real candles: outputs, Ctrl-C and resume, user errors."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from trading_bot.optimize.command import INTERRUPTED, checkpoint_path, optimize_command
from trading_bot.optimize.engines import EngineFailed


def _run(data: Path, strategy: str = "sma_cross", **options: Any) -> tuple[int, str]:
    out = io.StringIO()
    arguments: dict[str, Any] = {
        "strategy": strategy,
        "data": data,
        "params": ["fast=5,10,20", "slow=20,40"],
        "method": "grid",
        "trials": None,
        "objective": "sharpe",
        "min_trades": 1,
        "walk_forward": None,
        "engine": "local",
        "workers": 2,
        "ray_address": None,
        "json_out": None,
        "report_out": None,
        "resume": None,
        "console": Console(file=out, width=140),
    }
    arguments.update(options)
    code = optimize_command(**arguments)
    return code, out.getvalue()


def test_walk_forward_writes_every_trial_and_a_report(btc_slice: Path, tmp_path: Path) -> None:
    json_out, report = tmp_path / "wf.json", tmp_path / "wf.html"
    code, printed = _run(btc_slice, walk_forward=2, json_out=json_out, report_out=report)
    assert code == 0
    assert "Walk-forward" in printed and "OOS sharpe" in printed
    result = json.loads(json_out.read_text())
    assert result["run"] == {"strategy": "sma_cross", "data": btc_slice.name, "walk_forward": 2}
    trials = result["trials"]
    assert [t["number"] for t in trials] == list(range(len(trials)))
    for fold in result["folds"]:
        index = fold["fold"]
        in_sample = [t for t in trials if t["fold"] == index and t["segment"] == "in"]
        assert len(in_sample) == 6  # the whole grid, (20, 20) skipped
        (out,) = [t for t in trials if t["fold"] == index and t["segment"] == "out"]
        assert out["params"] == fold["params"] and out["number"] == fold["out_of_sample_trial"]
        best = max((t for t in in_sample if t["status"] == "ok"), key=lambda t: t["score"])
        assert best["number"] == fold["in_sample_trial"]
        assert fold["in_sample"]["last"] < fold["out_of_sample"]["first"]
    page = report.read_text()
    assert "sharpe, fold 1 in-sample" in page and "sharpe, fold 2 in-sample" in page
    assert "Walk-forward out-of-sample equity" in page
    assert '<script src="http' not in page  # plotly.js inline: the file opens offline
    assert not checkpoint_path(json_out).exists()  # the run completed: no checkpoint left


def test_ctrl_c_keeps_finished_trials_and_resume_skips_them(
    btc_slice: Path, probe: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = tmp_path / "backtests.log"
    monkeypatch.setenv("PROBE_LOG", str(log))
    monkeypatch.setenv("PROBE_INTERRUPT", "8")  # the probe sends SIGINT to this process
    json_out = tmp_path / "grid.json"
    params = ["fast=2:14:2", "slow=30"]  # 7 combinations, one worker, fast=8 interrupts
    code, printed = _run(btc_slice, probe, params=params, workers=1, json_out=json_out)
    assert code == INTERRUPTED
    checkpoint = checkpoint_path(json_out)
    assert f"--resume {checkpoint}" in printed
    assert not json_out.exists()
    lines = [json.loads(line) for line in checkpoint.read_text().splitlines()]
    finished = {line["trial"]["params"]["fast"] for line in lines[1:]}
    assert {2, 4} <= finished and len(finished) < 7  # which trials beat the signal may vary

    log.unlink()
    monkeypatch.delenv("PROBE_INTERRUPT")
    code, printed = _run(
        btc_slice, probe, params=params, workers=1, json_out=json_out, resume=checkpoint
    )
    assert code == 0
    rerun = {int(line.split(",")[0]) for line in log.read_text().splitlines()}
    assert rerun == {2, 4, 6, 8, 10, 12, 14} - finished
    result = json.loads(json_out.read_text())
    assert [t["params"]["fast"] for t in result["trials"]] == [2, 4, 6, 8, 10, 12, 14]
    assert {t["status"] for t in result["trials"]} == {"ok"}


def test_a_killed_worker_is_one_sentence_and_resume_finishes_the_run(
    btc_slice: Path, probe: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PROBE_DIE", "8")
    json_out = tmp_path / "grid.json"
    params = ["fast=2:14:2", "slow=30"]
    with pytest.raises(EngineFailed, match="a worker process died abruptly") as failed:
        _run(btc_slice, probe, params=params, workers=1, json_out=json_out)
    checkpoint = checkpoint_path(json_out)
    assert f"--resume {checkpoint}" in str(failed.value)
    lines = [json.loads(line) for line in checkpoint.read_text().splitlines()]
    assert {line["trial"]["params"]["fast"] for line in lines[1:]} >= {2, 4, 6}

    monkeypatch.delenv("PROBE_DIE")
    code, _ = _run(btc_slice, probe, params=params, workers=1, json_out=json_out, resume=checkpoint)
    assert code == 0
    result = json.loads(json_out.read_text())
    assert [t["params"]["fast"] for t in result["trials"]] == [2, 4, 6, 8, 10, 12, 14]


def test_optuna_proposes_the_same_trials_on_any_worker_count(btc_slice: Path) -> None:
    options = {"params": ["fast=3:15:3", "slow=20:60:10"], "method": "optuna", "trials": 10}
    runs = []
    for workers in (1, 2):
        json_out = btc_slice.parent / f"optuna-{workers}.json"
        code, _ = _run(btc_slice, workers=workers, json_out=json_out, **options)
        assert code == 0
        runs.append([(t["params"], t["score"]) for t in json.loads(json_out.read_text())["trials"]])
    assert runs[0] == runs[1]
    assert 1 < len(runs[0]) <= 10  # a proposal asked twice runs once


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"method": "annealing"}, "--method must be one of grid|random|optuna"),
        ({"objective": "alpha"}, "--objective must be one of"),
        ({"engine": "dask"}, "--engine must be one of local|ray"),
        ({"trials": 5}, "--trials is for --method random or optuna"),
        ({"min_trades": -1}, "--min-trades must be 0 or more"),
        ({"params": ["fast=1:3"]}, "START:STOP:STEP"),
        ({"walk_forward": 40}, "too few for 40 walk-forward folds"),
    ],
)
def test_user_errors_are_one_sentence(
    btc_slice: Path, options: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        _run(btc_slice, **options)


def test_resume_refuses_a_file_of_another_run(btc_slice: Path, tmp_path: Path) -> None:
    json_out = tmp_path / "run.json"
    assert _run(btc_slice, json_out=json_out, params=["fast=5", "slow=20"])[0] == 0
    with pytest.raises(ValueError, match="resume with the same --strategy"):
        _run(btc_slice, resume=json_out, walk_forward=2)
    assert os.path.getsize(json_out) > 0
