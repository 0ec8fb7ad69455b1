"""Performance metrics of a backtest, from its equity curve and its closed trades.

Definitions (the README repeats them):

- `total_return_pct`: (final equity / start equity - 1) * 100.
- `cagr_pct`: compound annual growth over the calendar span from the first to the last bar's
  open time, with a year of 365.25 days. NaN when that span is shorter than one day:
  annualizing a few hours turns a 1% move into a meaningless four-digit rate. -100 when the
  account is wiped out (final equity <= 0).
- Returns: simple returns of the equity curve bar by bar, the start equity prepended, so the
  first bar's move counts too.
- `sharpe`: mean / standard deviation (ddof=1) of those returns, times sqrt(bars per year),
  risk-free rate 0. Bars per year come from the data itself, (bars - 1) / span in years (the
  bars' open times span bars - 1 intervals), so the same formula fits 24/7 crypto and 24/5 forex.
- `sortino`: mean / downside deviation, sqrt(mean(min(r, 0)^2)) over all returns, times the
  same sqrt(bars per year).
- `max_drawdown_pct`: the largest fall of equity from its running peak (the start equity
  included), in percent of that peak, as a positive number: 12.5 means equity fell 12.5%.
- `win_rate_pct`: trades with pnl > 0 / all trades * 100.
- `profit_factor`: gross profit / gross loss (both positive sums of trade pnl).
- `expectancy`: mean trade pnl, net of fees, in quote currency.
- `trades`: number of closed trades.
- `exposure_pct`: percent of bars with a position open at their close.

A ratio whose denominator is zero is +inf when its numerator is positive and NaN otherwise:
a strategy with profits and no loss has an infinite profit factor; no trades has none. The
same holds for Sharpe (zero variance) and Sortino (no losing bar). Sharpe and Sortino are also
NaN with a single bar. Per-trade figures (win rate, profit factor, expectancy) are NaN without
trades. JSON output writes every non-finite value as null.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from trading_bot.core.clock import DAY_MS
from trading_bot.core.model import Trade

YEAR_MS = 365.25 * DAY_MS


@dataclass(frozen=True, slots=True)
class Metrics:
    total_return_pct: float
    cagr_pct: float
    sharpe: float
    sortino: float
    max_drawdown_pct: float
    win_rate_pct: float
    profit_factor: float
    expectancy: float
    trades: int
    exposure_pct: float


def compute_metrics(
    times: NDArray[np.int64],
    equity: NDArray[np.float64],
    exposure: NDArray[np.bool_],
    trades: Sequence[Trade],
    start_equity: float,
) -> Metrics:
    """Metrics of one run; `times`, `equity` and `exposure` hold one value per bar."""
    bars = len(equity)
    if bars == 0:
        raise ValueError("metrics need at least one bar of equity")
    if len(times) != bars or len(exposure) != bars:
        raise ValueError(
            f"times ({len(times)}), equity ({bars}) and exposure ({len(exposure)}) "
            "must have one value per bar"
        )
    if start_equity <= 0:
        raise ValueError(f"start equity must be positive, got {start_equity}")

    final_equity = float(equity[-1])
    growth = final_equity / start_equity
    span_ms = int(times[-1]) - int(times[0])
    years = span_ms / YEAR_MS
    annualize = math.sqrt((bars - 1) / years) if span_ms > 0 else math.nan

    curve = np.concatenate(([start_equity], equity.astype(np.float64, copy=False)))
    # An account at or below zero has no meaningful return; the NaN/inf it yields makes
    # Sharpe and Sortino NaN rather than a number.
    with np.errstate(divide="ignore", invalid="ignore"):
        returns = curve[1:] / curve[:-1] - 1.0
    mean = float(returns.mean())
    std = float(returns.std(ddof=1)) if bars > 1 else math.nan
    downside = math.sqrt(float(np.square(np.minimum(returns, 0.0)).mean()))

    pnl = np.fromiter((float(t.pnl) for t in trades), np.float64, count=len(trades))
    gross_profit = float(pnl[pnl > 0].sum())
    gross_loss = -float(pnl[pnl < 0].sum())
    per_trade = len(pnl) > 0

    return Metrics(
        total_return_pct=(growth - 1.0) * 100.0,
        cagr_pct=_cagr_pct(growth, years) if span_ms >= DAY_MS else math.nan,
        sharpe=_ratio(mean, std) * annualize,
        sortino=_ratio(mean, downside) * annualize,
        max_drawdown_pct=float(drawdown_pct(equity, start_equity).max()),
        win_rate_pct=float((pnl > 0).mean()) * 100.0 if per_trade else math.nan,
        profit_factor=_ratio(gross_profit, gross_loss),
        expectancy=float(pnl.mean()) if per_trade else math.nan,
        trades=len(pnl),
        exposure_pct=float(np.count_nonzero(exposure)) / bars * 100.0,
    )


def drawdown_pct(equity: NDArray[np.float64], start_equity: float) -> NDArray[np.float64]:
    """Per bar, how far equity is below its running peak (start equity included), in percent
    of that peak: 0 at a new high, positive below it."""
    peak = np.maximum.accumulate(np.concatenate(([start_equity], equity)))[1:]
    result: NDArray[np.float64] = (peak - equity) / peak * 100.0
    return result


def _cagr_pct(growth: float, years: float) -> float:
    if growth <= 0:
        return -100.0
    with np.errstate(over="ignore"):  # a huge gain over a short span: +inf, not an exception
        return float(np.power(growth, 1.0 / years) - 1.0) * 100.0


def _ratio(numerator: float, denominator: float) -> float:
    """numerator / denominator; over zero it is +inf for a positive numerator, else NaN."""
    if denominator > 0:
        return numerator / denominator
    return math.inf if numerator > 0 and denominator == 0 else math.nan


_DISPLAY = (
    ("total_return_pct", "Total return", "+,.2f", "%"),
    ("cagr_pct", "CAGR", "+,.2f", "%"),
    ("sharpe", "Sharpe", ".2f", ""),
    ("sortino", "Sortino", ".2f", ""),
    ("max_drawdown_pct", "Max drawdown", ".2f", "%"),
    ("win_rate_pct", "Win rate", ".1f", "%"),
    ("profit_factor", "Profit factor", ".2f", ""),
    ("expectancy", "Expectancy", "+,.2f", ""),
    ("trades", "Trades", ",d", ""),
    ("exposure_pct", "Exposure", ".1f", "%"),
)


def format_metrics(metrics: Metrics) -> list[tuple[str, str]]:
    """(label, text) per metric for people: the same wording in the terminal and the report."""
    return [
        (label, format_number(getattr(metrics, name), spec, unit))
        for name, label, spec, unit in _DISPLAY
    ]


def format_number(value: float, spec: str, unit: str = "") -> str:
    """`format(value, spec)` + unit, with "n/a" for NaN and ∞ for infinity, not "nan%"/"inf"."""
    if math.isnan(value):
        return "n/a"
    if math.isinf(value):
        return "∞" if value > 0 else "-∞"
    return format(value, spec) + unit
