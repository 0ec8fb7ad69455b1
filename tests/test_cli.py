"""The `trading-bot` command: results on success, one clear line and exit 2 on user errors."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from trading_bot.cli import app

runner = CliRunner()


def invoke(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    assert "Traceback" not in result.output
    return result.exit_code, result.output


@pytest.fixture(scope="module")
def candles(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("data") / "syn.csv.gz"
    code, output = invoke("generate-data", str(path), "--candles", "3000", "--timeframe", "1h")
    assert code == 0, output
    return path


def test_backtest_writes_json_and_a_standalone_report(candles: Path, tmp_path: Path) -> None:
    out, report = tmp_path / "result.json", tmp_path / "report.html"
    code, output = invoke(
        "backtest",
        "--strategy", "sma_cross",
        "--data", str(candles),
        "--param", "fast=5", "--param", "slow=15",
        "--fee-rate", "0", "--cash", "5000",
        "--json", str(out), "--report", str(report),
    )  # fmt: skip
    assert code == 0, output
    result = json.loads(out.read_text())
    assert result["params"] == {"fast": 5, "slow": 15}
    assert result["start_equity"] == 5000
    assert result["bars"] == 3000 and result["synthetic"] is False
    assert result["metrics"]["trades"] == len(result["trades"]) > 10
    assert all(t["fees"] == 0 for t in result["trades"])
    assert result["trades"][-1]["exit_reason"] == "end_of_backtest"
    assert "<html" in report.read_text()[:2000].lower()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--strategy", "nope"], "unknown strategy 'nope'"),
        (["--strategy", "sma_cross", "--param", "fast=abc"], "parameter fast = 'abc'"),
        (["--strategy", "sma_cross", "--param", "fast=30"], "fast (30) must be smaller than slow"),
        (["--strategy", "sma_cross", "--param", "speed=3"], "parameter speed"),
        (["--strategy", "sma_cross", "--param", "fast"], "is not KEY=VALUE"),
        (["--strategy", "sma_cross", "--fee-rate", "-1"], "fee_rate"),
    ],
)
def test_backtest_user_errors_are_one_line_and_exit_2(
    candles: Path, args: list[str], message: str
) -> None:
    code, output = invoke("backtest", "--data", str(candles), *args)
    assert code == 2
    assert message in output.replace("\n", " ")


def test_a_missing_data_file_is_named(tmp_path: Path) -> None:
    code, output = invoke("backtest", "--strategy", "sma_cross", "--data", str(tmp_path / "x.csv"))
    assert code == 2 and "x.csv" in output


def test_a_user_strategy_from_a_file(candles: Path, tmp_path: Path) -> None:
    module = tmp_path / "mine.py"
    module.write_text(
        "from trading_bot.core.model import Direction, Signal\n"
        "from trading_bot.strategies.base import Strategy\n"
        "class AlwaysLong(Strategy):\n"
        "    name = 'always_long'\n"
        "    def on_candle(self, candle):\n"
        "        return Signal(candle.symbol, Direction.LONG, candle.close_time, candle.close)\n"
    )
    out = tmp_path / "r.json"
    code, output = invoke(
        "backtest", "--strategy", f"{module}:AlwaysLong", "--data", str(candles), "--json", str(out)
    )
    assert code == 0, output
    (trade,) = json.loads(out.read_text())["trades"]
    assert trade["side"] == "long" and trade["exit_reason"] == "end_of_backtest"


def test_check_config_accepts_a_good_file_and_rejects_a_bad_one(tmp_path: Path) -> None:
    good = tmp_path / "good.toml"
    good.write_text('[bot]\nmode = "paper"\n')
    code, output = invoke("check-config", str(good))
    assert code == 0 and "OK" in output
    bad = tmp_path / "bad.toml"
    bad.write_text("[risk]\nmax_open_positions = 0\nmax_open_positons = 3\n")
    code, output = invoke("check-config", str(bad))
    assert code == 2
    assert "risk.max_open_positions = 0" in output
    assert "did you mean 'max_open_positions'" in output


def test_check_config_checks_the_strategy_parameters(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[strategy]\nname = "sma_cross"\nparams = { nope = 3 }\n')
    code, output = invoke("check-config", str(bad))
    assert code == 2
    assert "strategy sma_cross parameter nope = 3" in output and "Traceback" not in output


def test_a_bad_option_value_is_one_line_naming_it(tmp_path: Path, shared_data: Path) -> None:
    data = str(shared_data / "binance-BTCUSDT-1h.csv.gz")
    for cash, why in (("-5", "greater than 0"), ("nan", "finite number")):
        code, output = invoke("backtest", "--data", data, "--strategy", "sma_cross", "--cash", cash)
        assert code == 2 and f"starting_cash = {float(cash)!r}: Input should be " in output
        assert why in output and "Traceback" not in output and "validation error" not in output


def test_run_refuses_a_bad_config_without_a_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[bot]\nmode = "yolo"\n')
    code, output = invoke("run", "--config", str(bad))
    assert code == 2 and "bot.mode" in output


@pytest.mark.parametrize(
    ("settings", "advice"),
    [
        ("", 'set bot.venue = "binance"'),
        ('venue = "binance"\n', "set risk.allow_short = false"),
        ('venue = "binance"\n[risk]\nallow_short = false\n', "needs binance.api_key and"),
    ],
)
def test_live_mode_that_cannot_work_is_refused_clearly_before_connecting(
    tmp_path: Path, settings: str, advice: str
) -> None:
    live = tmp_path / "live.toml"
    live.write_text(
        f'[storage]\ndatabase_url = "sqlite:///{tmp_path}/x.db"\n[bot]\nmode = "live"\n{settings}'
    )
    code, output = invoke("run", "--config", str(live))
    assert code == 2 and advice in output and "Traceback" not in output


@pytest.mark.parametrize("module", ["trading_bot", "trading_bot.main"])
def test_module_entry_points(module: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", module, "version"], capture_output=True, text=True, check=True
    )
    assert result.stdout.startswith("trading-bot ")


def test_optimize_runs_a_small_grid_through_the_command(tmp_path: Path, shared_data: Path) -> None:
    out = tmp_path / "trials.json"
    code, output = invoke(
        "optimize", "--strategy", "sma_cross",
        "--data", str(shared_data / "binance-BTCUSDT-1h.csv.gz"),
        "--param", "fast=5:10:5", "--param", "slow=20,30", "--workers", "1",
        "--json", str(out),
    )  # fmt: skip
    assert code == 0, output
    assert "4 trials: 4 ok" in output and "Best" in output
    trials = json.loads(out.read_text())
    assert len(trials["trials"]) == 4


def test_optimize_names_a_bad_parameter_range_in_one_line(shared_data: Path) -> None:
    code, output = invoke(
        "optimize", "--strategy", "sma_cross",
        "--data", str(shared_data / "binance-BTCUSDT-1h.csv.gz"), "--param", "fast=10:5:x",
    )  # fmt: skip
    assert code == 2 and "fast" in output and "Traceback" not in output


def test_a_dashboard_port_in_use_stops_the_bot_with_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        monkeypatch.setenv("TRADING_BOT_API__PORT", str(port))
        monkeypatch.setenv("TRADING_BOT_STORAGE__DATABASE_URL", f"sqlite:///{tmp_path}/x.db")
        monkeypatch.setenv("TRADING_BOT_API__GENERATED_TOKEN_PATH", str(tmp_path / "api_token"))
        code, output = invoke("run")
    assert code == 2 and f"cannot listen on 127.0.0.1:{port}" in output and "api.port" in output
    assert "Traceback" not in output


def test_the_command_line_starts_without_the_heavy_libraries() -> None:
    """`--help`, `version` and `check-config` stay quick: pandas, SQLAlchemy, aiohttp and the
    web server are imported only by the commands that use them."""
    heavy = ("pandas", "sqlalchemy", "alembic", "aiohttp", "fastapi", "telegram", "numba")
    probe = f"import sys, trading_bot.cli; print([m for m in {heavy!r} if m in sys.modules])"
    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert loaded == "[]"
