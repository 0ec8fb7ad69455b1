from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Sequence

import numpy as np
import pytest
from numpy.typing import NDArray

from trading_bot.backtest.metrics import (
    YEAR_MS,
    Metrics,
    compute_metrics,
    drawdown_pct,
    format_metrics,
)
from trading_bot.core.clock import DAY_MS
from trading_bot.core.model import Direction, Trade

HOUR = 3_600_000


def metrics_of(
    equity: list[float],
    *,
    step_ms: int = DAY_MS,
    exposure: list[bool] | None = None,
    trades: Sequence[Trade] = (),
) -> Metrics:
    times: NDArray[np.int64] = np.arange(len(equity), dtype=np.int64) * step_ms
    flags = np.ones(len(equity), dtype=np.bool_) if exposure is None else np.array(exposure)
    return compute_metrics(times, np.array(equity, dtype=np.float64), flags, list(trades), 100.0)


def test_curve_metrics_match_hand_computation() -> None:
    half_year = int(YEAR_MS) // 2
    m = metrics_of([110.0, 99.0, 121.0], step_ms=half_year, exposure=[True, False, True])
    returns = [0.10, -0.10, 121 / 99 - 1]  # start equity 100 prepended
    bars_per_year = 2.0  # three bars over one year: two intervals
    assert m.total_return_pct == pytest.approx(21.0)
    assert m.cagr_pct == pytest.approx(21.0)  # the span is exactly one year
    assert m.sharpe == pytest.approx(
        statistics.mean(returns) / statistics.stdev(returns) * math.sqrt(bars_per_year)
    )
    downside = math.sqrt((0.0 + 0.01 + 0.0) / 3)
    assert m.sortino == pytest.approx(
        statistics.mean(returns) / downside * math.sqrt(bars_per_year)
    )
    assert m.max_drawdown_pct == pytest.approx(10.0)  # 110 -> 99
    assert m.exposure_pct == pytest.approx(200 / 3)


def test_drawdown_is_positive_and_measured_from_the_start_equity() -> None:
    equity = np.array([90.0, 95.0, 120.0, 60.0])
    assert drawdown_pct(equity, 100.0) == pytest.approx([10.0, 5.0, 0.0, 50.0])
    assert metrics_of(equity.tolist()).max_drawdown_pct == pytest.approx(50.0)


def test_annualization_follows_the_bar_spacing_in_the_data() -> None:
    equity = [101.0, 100.0, 103.0, 102.5, 104.0]
    daily = metrics_of(equity, step_ms=DAY_MS)
    hourly = metrics_of(equity, step_ms=HOUR)
    assert hourly.sharpe == pytest.approx(daily.sharpe * math.sqrt(24))
    assert hourly.sortino == pytest.approx(daily.sortino * math.sqrt(24))


def test_trade_statistics(make_trade: Callable[..., Trade]) -> None:
    trades = (
        make_trade("30"),
        make_trade("-10", Direction.SHORT),
        make_trade("20", Direction.SHORT),
        make_trade("-10"),
    )
    m = metrics_of([100.0, 130.0], trades=trades)
    assert m.trades == 4
    assert m.win_rate_pct == pytest.approx(50.0)
    assert m.profit_factor == pytest.approx(50 / 20)
    assert m.expectancy == pytest.approx(7.5)


def test_no_trades_leaves_per_trade_statistics_undefined() -> None:
    m = metrics_of([100.0, 100.0], exposure=[False, False])
    assert m.trades == 0
    assert m.exposure_pct == 0.0
    assert math.isnan(m.win_rate_pct)
    assert math.isnan(m.profit_factor)
    assert math.isnan(m.expectancy)


def test_profit_without_loss_is_an_infinite_profit_factor(make_trade: Callable[..., Trade]) -> None:
    m = metrics_of([100.0, 105.0], trades=(make_trade("2"), make_trade("3")))
    assert m.profit_factor == math.inf
    assert m.win_rate_pct == 100.0


def test_break_even_trades_win_nothing_and_have_no_profit_factor(
    make_trade: Callable[..., Trade],
) -> None:
    m = metrics_of([100.0, 100.0], trades=(make_trade("0"),))
    assert m.win_rate_pct == 0.0
    assert math.isnan(m.profit_factor)
    assert m.expectancy == 0.0


def test_flat_equity_has_no_sharpe_or_sortino() -> None:
    m = metrics_of([100.0] * 5)
    assert math.isnan(m.sharpe)
    assert math.isnan(m.sortino)
    assert m.total_return_pct == 0.0
    assert m.cagr_pct == 0.0
    assert m.max_drawdown_pct == 0.0


def test_no_losing_bar_is_an_infinite_sortino() -> None:
    m = metrics_of([101.0, 103.0, 104.0])
    assert math.isfinite(m.sharpe) and m.sharpe > 0
    assert m.sortino == math.inf


def test_cagr_is_undefined_under_one_day() -> None:
    m = metrics_of([101.0, 102.0, 103.0], step_ms=HOUR)
    assert math.isnan(m.cagr_pct)
    assert m.total_return_pct == pytest.approx(3.0)


def test_a_wiped_out_account() -> None:
    m = metrics_of([50.0, 0.0, 0.0])
    assert m.cagr_pct == -100.0
    assert m.max_drawdown_pct == pytest.approx(100.0)
    assert math.isnan(m.sharpe)  # a return from zero equity is undefined


def test_a_single_bar_has_no_sharpe() -> None:
    m = metrics_of([110.0])
    assert m.total_return_pct == pytest.approx(10.0)
    assert math.isnan(m.sharpe)
    assert math.isnan(m.sortino)


def test_inputs_must_have_one_value_per_bar() -> None:
    with pytest.raises(ValueError, match="at least one bar"):
        metrics_of([])
    with pytest.raises(ValueError, match="one value per bar"):
        metrics_of([100.0, 101.0], exposure=[True])


def test_people_see_na_and_infinity_not_nan_and_inf(make_trade: Callable[..., Trade]) -> None:
    text = dict(format_metrics(metrics_of([100.0, 100.0], trades=(make_trade("0"),))))
    assert text["Profit factor"] == "n/a"
    assert text["Trades"] == "1"
    assert text["Max drawdown"] == "0.00%"
    wins = dict(format_metrics(metrics_of([100.0, 101.0], trades=(make_trade("2"),))))
    assert wins["Profit factor"] == "∞"
    assert wins["Win rate"] == "100.0%"
