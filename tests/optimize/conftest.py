"""Fixtures of the optimization tests: a small slice of real candles, a strategy that fails
or interrupts on chosen parameters, and one local Ray instance for the module that needs it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from trading_bot.data.files import load_candles, save_candles

SLICE_BARS = 1_500
RAY_DYING_FAST = 13
PROBE = '''
import os
import signal

from trading_bot.strategies.sma_cross import SmaCross

FAILING_FAST = 7


class Probe(SmaCross):
    """sma_cross that logs each backtest built, fails on fast=7 and, when asked, sends Ctrl-C
    (SIGINT) to the optimizer's process or kills its own worker."""

    name = "probe"

    def __init__(self, params, symbol, timeframe_ms):
        super().__init__(params, symbol, timeframe_ms)
        log = os.environ.get("PROBE_LOG")
        if log:
            with open(log, "a") as file:
                file.write(f"{params.fast},{params.slow}\\n")
        if params.fast == FAILING_FAST:
            raise RuntimeError("probe fails on fast=7")
        if str(params.fast) == os.environ.get("PROBE_INTERRUPT"):
            os.kill(os.getppid(), signal.SIGINT)
        if str(params.fast) == os.environ.get("PROBE_DIE"):  # as the OOM killer would
            os.kill(os.getpid(), signal.SIGKILL)
'''


@pytest.fixture(scope="session")
def btc_slice(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The last 1,500 hourly BTCUSDT candles (about two months) as a Parquet file."""
    frame = load_candles(shared_data / "binance-BTCUSDT-1h.csv.gz").iloc[-SLICE_BARS:]
    path = tmp_path_factory.mktemp("data") / "BTCUSDT-1h.parquet"
    save_candles(frame, path)
    return path


@pytest.fixture(scope="session")
def probe(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("strategy") / "probe.py"
    path.write_text(PROBE)
    return f"{path}:Probe"


@pytest.fixture(scope="module")
def local_ray() -> Iterator[None]:
    """A local Ray instance with 2 CPUs and no dashboard, shut down after the module; its
    workers' probe dies on fast=13."""
    import ray

    workers_env = {"env_vars": {"PROBE_DIE": str(RAY_DYING_FAST)}}
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, runtime_env=workers_env)
    try:
        yield
    finally:
        ray.shutdown()
