from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import orjson
import pytest

from trading_bot.backtest.result import BacktestResult, write_json
from trading_bot.core.clock import ms_to_iso
from trading_bot.core.model import Direction, Trade

TOP_LEVEL = {
    "strategy",
    "params",
    "bars",
    "elapsed_s",
    "start_equity",
    "final_equity",
    "metrics",
    "trades",
}
ALLOWED_EXTRAS = {"symbol", "timeframe", "synthetic"}
METRICS = {
    "total_return_pct",
    "cagr_pct",
    "sharpe",
    "sortino",
    "max_drawdown_pct",
    "win_rate_pct",
    "profit_factor",
    "expectancy",
    "trades",
    "exposure_pct",
}
TRADE_KEYS = {
    "side",
    "entry_time",
    "exit_time",
    "entry_price",
    "exit_price",
    "qty",
    "pnl",
    "fees",
    "exit_reason",
    "entry_reason",  # beyond the list: the rationale of the signal that opened it
}
ISO_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")

ResultFactory = Callable[..., BacktestResult]
TradeFactory = Callable[..., Trade]


def written(result: BacktestResult, tmp_path: Path) -> dict[str, object]:
    path = tmp_path / "result.json"
    write_json(result, path)
    data: dict[str, object] = orjson.loads(path.read_bytes())
    return data


def test_json_has_exactly_the_documented_shape(
    make_result: ResultFactory, make_trade: TradeFactory, tmp_path: Path
) -> None:
    trades = [
        make_trade("12.5", Direction.LONG, exit_reason="take_profit"),
        make_trade("-4.25", Direction.SHORT, exit_reason="stop_loss"),
    ]
    data = written(make_result([101.0, 99.0, 108.25], trades, synthetic=True), tmp_path)

    assert TOP_LEVEL <= data.keys() <= TOP_LEVEL | ALLOWED_EXTRAS
    assert data["strategy"] == "sma_cross"
    assert data["params"] == {"fast": 10, "slow": 30}
    assert data["symbol"] == "BTCUSDT"
    assert data["timeframe"] == "1h"
    assert data["synthetic"] is True
    assert data["bars"] == 3
    for key in ("elapsed_s", "start_equity", "final_equity"):
        assert isinstance(data[key], float)
    assert data["final_equity"] == 108.25

    metrics = data["metrics"]
    assert isinstance(metrics, dict)
    assert metrics.keys() == METRICS
    assert metrics["trades"] == 2
    assert metrics["total_return_pct"] == pytest.approx(8.25)
    assert metrics["profit_factor"] == pytest.approx(12.5 / 4.25)
    assert metrics["cagr_pct"] is None  # two hours are too short to annualize
    numbers = metrics.keys() - {"trades", "cagr_pct"}
    assert all(isinstance(metrics[key], float) for key in numbers)

    rows = data["trades"]
    assert isinstance(rows, list) and len(rows) == 2
    for row, trade in zip(rows, trades, strict=True):
        assert row.keys() == TRADE_KEYS
        assert row["side"] == trade.side.value
        assert ISO_UTC.match(row["entry_time"]) and ISO_UTC.match(row["exit_time"])
        assert row["entry_time"] == ms_to_iso(trade.entry_time)
        for key in ("entry_price", "exit_price", "qty", "pnl", "fees"):
            assert isinstance(row[key], float)
            assert row[key] == float(getattr(trade, key))
        assert row["exit_reason"] == trade.exit_reason
        assert row["entry_reason"] == trade.entry_reason
    assert [row["side"] for row in rows] == ["long", "short"]
    assert rows[0]["entry_time"] == "2021-01-01T00:00:00Z"


def test_non_finite_metrics_are_null(
    make_result: ResultFactory, make_trade: TradeFactory, tmp_path: Path
) -> None:
    # Flat equity: no variance, so no Sharpe; a winner and no loser: no finite profit factor.
    data = written(make_result([100.0, 100.0, 100.0], [make_trade("5")]), tmp_path)
    metrics = data["metrics"]
    assert isinstance(metrics, dict)
    assert metrics["sharpe"] is None
    assert metrics["sortino"] is None
    assert metrics["profit_factor"] is None
    assert metrics["max_drawdown_pct"] == 0.0


def test_no_trades(make_result: ResultFactory, tmp_path: Path) -> None:
    data = written(make_result([100.0, 101.0]), tmp_path)
    assert data["trades"] == []
    assert data["synthetic"] is False
    metrics = data["metrics"]
    assert isinstance(metrics, dict)
    assert metrics["trades"] == 0
    assert metrics["win_rate_pct"] is None
    assert metrics["expectancy"] is None


def test_file_is_indented_and_decimal_params_are_numbers(
    make_result: ResultFactory, tmp_path: Path
) -> None:
    result = make_result([100.0, 101.0], params={"risk": Decimal("0.01"), "side": Direction.LONG})
    path = tmp_path / "result.json"
    write_json(result, path)
    assert path.read_text().startswith('{\n  "strategy"')
    assert orjson.loads(path.read_bytes())["params"] == {"risk": 0.01, "side": "long"}


@pytest.mark.parametrize(
    ("timeframe_ms", "label"),
    [
        (60_000, "1m"),
        (900_000, "15m"),
        (3_600_000, "1h"),
        (14_400_000, "4h"),
        (86_400_000, "1d"),
        (604_800_000, "1w"),
        (30_000, "30s"),
        (1_500, "1500ms"),
    ],
)
def test_timeframe_label(make_result: ResultFactory, timeframe_ms: int, label: str) -> None:
    result = make_result([100.0])
    result.timeframe_ms = timeframe_ms
    assert result.timeframe == label


def test_headline_names_strategy_params_symbol_and_timeframe(make_result: ResultFactory) -> None:
    assert make_result([100.0]).headline == "sma_cross(fast=10, slow=30) · BTCUSDT 1h"
