"""Both engines on the same real candles: the same trials, the failing one reported, the
candles shared rather than sent with each task."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from tests.optimize.conftest import RAY_DYING_FAST
from trading_bot.core.settings import PipelineSettings, StrategySettings
from trading_bot.data.files import load_candles
from trading_bot.optimize.candles import CandleArrays
from trading_bot.optimize.engines import EngineFailed, EngineKind, open_engine
from trading_bot.optimize.objective import Objective
from trading_bot.optimize.runner import TrialRunner
from trading_bot.optimize.search import Method, search
from trading_bot.optimize.space import Space, parse_spec
from trading_bot.optimize.trials import Task, Trial
from trading_bot.strategies.registry import load_strategy_class

SPECS = ["fast=5,7,10,20", "slow=20,40"]  # fast=7 fails (the probe), fast=20 slow=20 skipped


def _grid(
    kind: EngineKind, data: Path, strategy: str, workers: int, specs: list[str] = SPECS
) -> list[Trial]:
    frame = load_candles(data)
    settings = PipelineSettings(strategy=StrategySettings(name=strategy))
    space = Space(load_strategy_class(strategy), [parse_spec(spec) for spec in specs])
    engine = open_engine(kind, CandleArrays.from_frame(frame), settings, "BTCUSDT", workers)
    try:
        runner = TrialRunner(engine, space, Objective.SHARPE, min_trades=1)
        return search(runner, Method.GRID, None, (0, len(frame)))
    finally:
        engine.close()


def test_grid_results_are_equal_on_the_local_engine_and_ray(
    btc_slice: Path, probe: str, local_ray: None
) -> None:
    local = _grid(EngineKind.LOCAL, btc_slice, probe, workers=2)
    on_ray = _grid(EngineKind.RAY, btc_slice, probe, workers=2)

    def comparable(trials: list[Trial]) -> list[tuple[object, ...]]:
        return [(t.number, t.params, t.status, t.score, t.metrics, t.error) for t in trials]

    assert comparable(local) == comparable(on_ray)
    statuses = {(t.params["fast"], t.params["slow"]): t.status for t in local}
    assert statuses[(7, 20)] == statuses[(7, 40)] == "failed"
    assert statuses[(20, 20)] == "skipped"
    assert [s for s in statuses.values() if s == "ok"] == ["ok"] * 5
    assert all(t.metrics["trades"] for t in local if t.status == "ok")


def test_a_killed_ray_worker_ends_the_run_with_one_sentence(
    btc_slice: Path, probe: str, local_ray: None
) -> None:
    specs = [f"fast=5,{RAY_DYING_FAST}", "slow=40"]
    with pytest.raises(EngineFailed, match="a Ray worker failed: WorkerCrashedError"):
        _grid(EngineKind.RAY, btc_slice, probe, workers=2, specs=specs)


def test_a_failing_trial_is_reported_and_the_run_goes_on(btc_slice: Path, probe: str) -> None:
    trials = _grid(EngineKind.LOCAL, btc_slice, probe, workers=1)
    failed = [t for t in trials if t.status == "failed"]
    assert [t.params for t in failed] == [{"fast": 7, "slow": 20}, {"fast": 7, "slow": 40}]
    assert all(t.error == "RuntimeError: probe fails on fast=7" for t in failed)
    # Trials after the failures, on the same single worker, still ran.
    assert {"fast": 10, "slow": 40} in [t.params for t in trials if t.status == "ok"]


def test_the_local_engine_shares_the_candles_instead_of_sending_them(btc_slice: Path) -> None:
    frame = load_candles(btc_slice)
    candles = CandleArrays.from_frame(frame)
    settings = PipelineSettings()
    engine = open_engine(EngineKind.LOCAL, candles, settings, "BTCUSDT", workers=1)
    try:
        data_bytes = candles.times.nbytes + candles.ohlcv.nbytes
        assert data_bytes > 50_000
        # Once per worker: a path and the settings, not the candles.
        assert len(pickle.dumps(engine.worker_args)) < 3_000
        task = Task(Trial(number=0, params={"fast": 10, "slow": 30}), 0, len(frame))
        assert len(pickle.dumps(task)) < 500
        # And the worker's frame, rebuilt from the memory map, holds the same candles.
        shared = engine.worker_args[0].open()
        assert (shared.ohlcv == candles.ohlcv).all() and (shared.times == candles.times).all()
        (outcome,) = engine.run([task])
        assert outcome.trial.status == "ok"
    finally:
        engine.close()


def test_ray_puts_the_candles_once_and_tasks_carry_a_reference(
    btc_slice: Path, local_ray: None
) -> None:
    import ray

    candles = CandleArrays.from_frame(load_candles(btc_slice))
    engine = open_engine(EngineKind.RAY, candles, PipelineSettings(), "BTCUSDT", workers=2)
    try:
        assert isinstance(engine.data_ref, ray.ObjectRef)  # type: ignore[attr-defined]
        stored = ray.get(engine.data_ref)  # type: ignore[attr-defined]
        assert not stored.ohlcv.flags.writeable  # read zero-copy from the object store
    finally:
        engine.close()
    assert ray.is_initialized()  # an instance the engine did not start is left running


def test_bad_engine_settings_are_user_errors(btc_slice: Path) -> None:
    candles = CandleArrays.from_frame(load_candles(btc_slice))
    with pytest.raises(ValueError, match="--workers must be at least 1"):
        open_engine(EngineKind.LOCAL, candles, PipelineSettings(), "X", workers=0)
    with pytest.raises(ValueError, match="--ray-address needs --engine ray"):
        open_engine(EngineKind.LOCAL, candles, PipelineSettings(), "X", 1, "127.0.0.1:6379")
