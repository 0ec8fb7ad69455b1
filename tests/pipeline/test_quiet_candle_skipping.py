"""Skipping quiet candles (the batch form) gives exactly what sending every candle gives."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from trading_bot.backtest.runner import run_backtest
from trading_bot.core.model import Candle, Direction, Signal
from trading_bot.core.settings import (
    ExecutionSettings,
    PipelineSettings,
    PortfolioSettings,
    RiskSettings,
    StrategySettings,
)
from trading_bot.data.files import iter_candles, load_candles
from trading_bot.strategies.registry import build_strategy
from trading_bot.strategies.sma_cross import SmaCross


class SmaCrossWithBrackets(SmaCross):
    """sma_cross with a stop and a target at fixed fractions of the close: exercises stops,
    targets, gaps and one-cancels-other in both drivers."""

    name = "sma_cross_brackets"
    STOP, TARGET = 0.004, 0.006

    def _bracket(self, signal: Signal | None) -> Signal | None:
        if signal is None:
            return None
        sign = 1 if signal.direction is Direction.LONG else -1
        return Signal(
            signal.symbol,
            signal.direction,
            signal.time,
            signal.price,
            stop_loss=signal.price * (1 - sign * self.STOP),
            take_profit=signal.price * (1 + sign * self.TARGET),
            reason=signal.reason,
        )

    def on_candle(self, candle: Candle) -> Signal | None:
        return self._bracket(super().on_candle(candle))

    def batch_signals(self, frame: pd.DataFrame) -> dict[int, Signal]:
        signals = super().batch_signals(frame).items()
        return {t: b for t, s in signals if (b := self._bracket(s)) is not None}


class SmaCrossLimitEntries(SmaCrossWithBrackets):
    """Bracketed limit entries a little better than the close, canceled after three candles:
    exercises limit fills and expiry in both drivers."""

    name = "sma_cross_limits"

    def _bracket(self, signal: Signal | None) -> Signal | None:
        bracketed = super()._bracket(signal)
        if bracketed is None:
            return None
        sign = 1 if bracketed.direction is Direction.LONG else -1
        return replace(
            bracketed,
            entry=bracketed.price * (1 - sign * 0.001),
            expires=bracketed.time + 3 * self.timeframe_ms,
        )


def settings(strategy: str, **risk: float) -> PipelineSettings:
    return PipelineSettings(
        strategy=StrategySettings(name=strategy, params={"fast": 8, "slow": 21}),
        risk=RiskSettings(**risk),
        execution=ExecutionSettings(fee_rate=0.0005, slippage_bps=2),
        portfolio=PortfolioSettings(starting_cash=10_000),
    )


CASES = [
    ("binance-BTCUSDT-5m.csv.gz", f"{__file__}:SmaCrossWithBrackets", {}),
    ("oanda-EURUSD-1h.csv.gz", "sma_cross", {"position_size_pct": 300, "max_daily_loss_pct": 1}),
    ("mt5-EURUSD-15m.csv.gz", f"{__file__}:SmaCrossWithBrackets", {"max_daily_loss_pct": 0.5}),
    ("binance-ETHUSDT-5m.csv.gz", f"{__file__}:SmaCrossLimitEntries", {}),
]


@pytest.mark.parametrize(("file", "strategy", "risk"), CASES)
def test_skipping_quiet_candles_changes_nothing(
    shared_data: Path, file: str, strategy: str, risk: dict[str, float]
) -> None:
    frame = load_candles(shared_data / file).iloc[:30_000]
    every = run_backtest(frame, settings(strategy, **risk), "X", skip_quiet_candles=False)
    skipping = run_backtest(frame, settings(strategy, **risk), "X")
    assert len(every.trades) > 100
    assert skipping.trades == every.trades
    assert np.array_equal(skipping.equity, every.equity)
    assert np.array_equal(skipping.exposure, every.exposure)
    reasons = {t.exit_reason for t in every.trades}
    if "Brackets" in strategy:
        assert {"stop_loss", "take_profit"} <= reasons
    if "max_daily_loss_pct" in risk:  # the kill switch fired and kept entries out
        unlimited = {**risk, "max_daily_loss_pct": 100}
        assert len(run_backtest(frame, settings(strategy, **unlimited), "X").trades) > len(
            every.trades
        )


@pytest.mark.parametrize("file", ["oanda-EURUSD-1h.csv.gz", "binance-ETHUSDT-5m.csv.gz"])
def test_sma_cross_batch_form_agrees_with_the_incremental_one(shared_data: Path, file: str) -> None:
    frame = load_candles(shared_data / file)
    strategy = build_strategy("sma_cross", {"fast": 10, "slow": 20}, "X", 0)
    batch = strategy.batch_signals(frame)
    incremental = {}
    for candle in iter_candles(frame, "X", 0):
        signal = strategy.on_candle(candle)
        if signal is not None:
            incremental[candle.open_time] = signal
    assert len(batch) > 1000
    assert batch == incremental
