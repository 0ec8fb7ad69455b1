from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
from plotly.offline import get_plotlyjs

from trading_bot.backtest.metrics import compute_metrics
from trading_bot.backtest.report import envelope_indices, write_html_report
from trading_bot.backtest.result import SYNTHETIC_LABEL, BacktestResult
from trading_bot.core.model import Direction, Trade

ResultFactory = Callable[..., BacktestResult]
TradeFactory = Callable[..., Trade]

PLOTLY_JS = get_plotlyjs()


def report_of(result: BacktestResult, tmp_path: Path) -> str:
    path = tmp_path / "report.html"
    write_html_report(result, path)
    return path.read_text(encoding="utf-8")


def test_report_is_standalone(make_result: ResultFactory, tmp_path: Path) -> None:
    html = report_of(make_result([100.0, 102.0, 101.0]), tmp_path)
    assert html.startswith("<!DOCTYPE html>")
    assert PLOTLY_JS in html
    assert '<script src="http' not in html
    assert not re.search(r"<script[^>]+src=", html)
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html


def test_report_names_the_run_and_shows_metrics(
    make_result: ResultFactory, make_trade: TradeFactory, tmp_path: Path
) -> None:
    trades = [
        make_trade("7.5", Direction.LONG, exit_reason="take_profit"),
        make_trade("-3", Direction.SHORT, exit_reason="stop<loss>"),
    ]
    html = report_of(make_result([100.0, 107.5, 104.5], trades), tmp_path)
    assert "sma_cross(fast=10, slow=30) · BTCUSDT 1h" in html
    assert "Max drawdown" in html and "2.79%" in html  # 107.5 -> 104.5
    assert "Profit factor" in html and "2.50" in html
    assert "triangle-up" in html and "triangle-down" in html
    assert "take_profit" in html
    assert "stop&lt;loss&gt;" in html  # exit reasons are text, not markup
    assert SYNTHETIC_LABEL not in html


def test_report_reads_well(
    make_result: ResultFactory, make_trade: TradeFactory, tmp_path: Path
) -> None:
    trades = [
        make_trade("7.5", Direction.LONG, exit_reason="take_profit"),
        make_trade("-3", Direction.SHORT, exit_reason="stop<loss>"),
    ]
    html = report_of(make_result([100.0, 107.5, 97.0], trades), tmp_path)
    # The run on one line under the title, the results as tiles, losses in red.
    assert "2021-01-01T00:00:00Z → 2021-01-01T02:00:00Z · 3 bars · run in 0.250 s" in html
    assert '<dt>Total return</dt><dd class="down">-3.00%</dd>' in html
    assert "<dt>Bars</dt>" not in html
    # The lines are named by their axes, not the legend, which holds the trade markers only.
    assert html.count('"showlegend":false') == 3
    assert '"ticksuffix":"%"' in html  # drawdown axis
    # Few trades: big markers, exits shown; hovers and the table written for people.
    assert '"size":11' in html and '"visible":"legendonly"' not in html
    assert "pnl +7.50 (fees 0.87)" in html
    assert "Last 2 of 2 trades (UTC)" in html
    assert "<td>29000.50</td><td>29100.25</td>" in html
    assert '<td class="down">-3.00</td><td class="text">stop&lt;loss&gt;</td>' in html


def test_crowded_trades_make_small_markers_and_hide_exits(
    make_result: ResultFactory, make_trade: TradeFactory, tmp_path: Path
) -> None:
    trades = [make_trade("1") for _ in range(1_001)]
    html = report_of(make_result([100.0, 101.0], trades), tmp_path)
    assert '"size":11' not in html
    assert '"visible":"legendonly"' in html
    assert "Last 10 of 1,001 trades (UTC)" in html


def test_synthetic_data_is_labelled(make_result: ResultFactory, tmp_path: Path) -> None:
    html = report_of(make_result([100.0, 101.0], synthetic=True), tmp_path)
    assert f'<span class="synthetic">{SYNTHETIC_LABEL}</span>' in html
    assert f"{SYNTHETIC_LABEL}</title>" in html
    assert "not market prices" in html
    # On the chart too, so that a screenshot of the chart alone says so.
    assert f'"text":"{SYNTHETIC_LABEL}"' in html


def test_a_million_bars_make_a_small_file(tmp_path: Path) -> None:
    bars = 1_000_000
    rng = np.random.default_rng(1)
    times = 1_609_459_200_000 + np.arange(bars, dtype=np.int64) * 60_000
    close = 30_000.0 * np.cumprod(1 + rng.normal(0, 0.0005, bars))
    equity = 10_000.0 * np.cumprod(1 + rng.normal(0, 0.0002, bars))
    exposure = rng.random(bars) < 0.5
    trades = [
        Trade(
            symbol="BTCUSDT",
            side=Direction.LONG if i % 2 else Direction.SHORT,
            entry_time=int(times[i * 1000]),
            exit_time=int(times[i * 1000 + 500]),
            entry_price=Decimal(f"{close[i * 1000]:.2f}"),
            exit_price=Decimal(f"{close[i * 1000 + 500]:.2f}"),
            qty=Decimal("0.01"),
            pnl=Decimal("1.5") if i % 3 else Decimal("-2"),
            fees=Decimal("0.6"),
            exit_reason="signal",
        )
        for i in range(500)
    ]
    result = BacktestResult(
        strategy="sma_cross",
        params={"fast": 10, "slow": 30},
        symbol="BTCUSDT",
        timeframe_ms=60_000,
        bars=bars,
        elapsed_s=3.0,
        start_equity=10_000.0,
        final_equity=float(equity[-1]),
        trades=trades,
        times=times,
        close=close,
        equity=equity,
        exposure=exposure,
        synthetic=True,
        metrics=compute_metrics(times, equity, exposure, trades, 10_000.0),
    )
    path = tmp_path / "report.html"
    write_html_report(result, path)
    size = path.stat().st_size
    # plotly.js alone is ~4.8 MB; the million bars must add little to it.
    assert size - len(PLOTLY_JS) < 1_000_000
    assert size < 6_000_000


def test_envelope_keeps_every_point_of_a_short_series() -> None:
    values = np.array([3.0, 1.0, 2.0])
    assert envelope_indices(values, max_points=4).tolist() == [0, 1, 2]


@pytest.mark.parametrize("bars", [100_001, 1_000_000, 1_234_567])
def test_envelope_keeps_extremes_ends_and_order(bars: int) -> None:
    values = np.cumsum(np.random.default_rng(bars).normal(size=bars))
    spike = bars // 3
    values[spike] = values.max() + 100.0  # one bar spike must survive
    keep = envelope_indices(values, max_points=10_000)
    assert len(keep) <= 10_002
    assert np.all(np.diff(keep) > 0)
    assert keep[0] == 0 and keep[-1] == bars - 1
    assert spike in keep
    assert values[keep].min() == values.min()
