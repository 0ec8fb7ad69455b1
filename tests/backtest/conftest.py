"""Builders of real trades and results for the backtest tests."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal

import numpy as np
import pytest

from trading_bot.backtest.metrics import compute_metrics
from trading_bot.backtest.result import BacktestResult
from trading_bot.core.model import Direction, Trade

T0 = 1_609_459_200_000  # 2021-01-01T00:00:00Z
HOUR = 3_600_000

TradeFactory = Callable[..., Trade]
ResultFactory = Callable[..., BacktestResult]


@pytest.fixture
def make_trade() -> TradeFactory:
    def build(
        pnl: str,
        side: Direction = Direction.LONG,
        entry_time: int = T0,
        exit_time: int = T0 + HOUR,
        exit_reason: str = "signal",
    ) -> Trade:
        return Trade(
            symbol="BTCUSDT",
            side=side,
            entry_time=entry_time,
            exit_time=exit_time,
            entry_price=Decimal("29000.5"),
            exit_price=Decimal("29100.25"),
            qty=Decimal("0.015"),
            pnl=Decimal(pnl),
            fees=Decimal("0.87"),
            exit_reason=exit_reason,
        )

    return build


@pytest.fixture
def make_result() -> ResultFactory:
    """An hourly run on `equity` (close follows equity), in a position on every bar."""

    def build(
        equity: Sequence[float],
        trades: Sequence[Trade] = (),
        synthetic: bool = False,
        params: dict[str, object] | None = None,
    ) -> BacktestResult:
        times = T0 + np.arange(len(equity), dtype=np.int64) * HOUR
        curve = np.asarray(equity, dtype=np.float64)
        exposure = np.ones(len(equity), dtype=np.bool_)
        return BacktestResult(
            strategy="sma_cross",
            params={"fast": 10, "slow": 30} if params is None else params,
            symbol="BTCUSDT",
            timeframe_ms=HOUR,
            bars=len(equity),
            elapsed_s=0.25,
            start_equity=100.0,
            final_equity=float(curve[-1]),
            trades=list(trades),
            times=times,
            close=curve * 300.0,
            equity=curve,
            exposure=exposure,
            synthetic=synthetic,
            metrics=compute_metrics(times, curve, exposure, trades, 100.0),
        )

    return build
