"""The backtest driver: replays a candle file through the shared pipeline on a simulated clock.

It is the same pipeline as a paper or live run; only the edge differs: candles come from a
frame, orders fill in the simulated broker. At the end, pending orders are canceled and open
positions are closed at the last close with exit reason `end_of_backtest`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import numpy as np
import pandas as pd

from trading_bot.backtest.metrics import compute_metrics
from trading_bot.backtest.result import BacktestResult
from trading_bot.core.clock import SimulatedClock
from trading_bot.core.events import (
    EquityUpdated,
    MarketDataReceived,
    OrderRequestGenerated,
    PositionClosed,
)
from trading_bot.core.model import (
    Candle,
    OrderRequest,
    OrderRole,
    OrderType,
    Side,
    Trade,
)
from trading_bot.core.settings import PipelineSettings
from trading_bot.data.files import frame_to_arrays, infer_timeframe_ms, iter_candles
from trading_bot.data.instruments import instrument_for
from trading_bot.execution.simulated import SimulatedBroker
from trading_bot.pipeline import Pipeline, build_pipeline
from trading_bot.strategies.registry import build_strategy

ProgressCallback = Callable[[int, int], None]
END_OF_BACKTEST = "end_of_backtest"


def run_backtest(
    frame: pd.DataFrame,
    settings: PipelineSettings,
    symbol: str = "DATA",
    progress: ProgressCallback | None = None,
) -> BacktestResult:
    timeframe = infer_timeframe_ms(frame)
    strategy = build_strategy(settings.strategy.name, settings.strategy.params, symbol, timeframe)
    clock = SimulatedClock()
    pipeline = build_pipeline(
        settings, clock, strategy, instrument_for(symbol, frame, settings.instrument), None, "bt-"
    )
    recorder = _Recording(pipeline)
    started = time.perf_counter()
    last = _replay(pipeline, clock, iter_candles(frame, symbol, timeframe), len(frame), progress)
    if last is not None:
        _close_out(pipeline, last)
        recorder.equity[-1] = pipeline.portfolio.equity
    elapsed = time.perf_counter() - started
    return _result(settings, pipeline, frame, recorder, elapsed)


def _replay(
    pipeline: Pipeline,
    clock: SimulatedClock,
    candles: Iterator[Candle],
    total: int,
    progress: ProgressCallback | None,
) -> Candle | None:
    """Publish every candle as market data at its close time; returns the last one."""
    publish = pipeline.hub.publish
    advance = clock.advance_to
    step = max(1, total // 200)
    candle = None
    for i, candle in enumerate(candles):
        advance(candle.open_time + candle.timeframe_ms)
        publish(MarketDataReceived(candle))
        if progress is not None and i % step == 0:
            progress(i, total)
    if progress is not None:
        progress(total, total)
    return candle


def _close_out(pipeline: Pipeline, last: Candle) -> None:
    """Cancel what is pending, then close open positions at the last close."""
    for order in pipeline.execution.open_orders():
        pipeline.execution.cancel(order.client_order_id)
    for position in pipeline.portfolio.open_positions():
        side = Side.SELL if position.qty > 0 else Side.BUY
        request = OrderRequest(
            position.symbol,
            side,
            OrderType.MARKET,
            abs(position.qty),
            OrderRole.EXIT,
            last.close_time,
            reason=END_OF_BACKTEST,
        )
        pipeline.hub.publish(OrderRequestGenerated(request))
    broker = pipeline.broker
    assert isinstance(broker, SimulatedBroker)
    broker.settle_at_close(last)


class _Recording:
    """Collects the equity curve, exposure and trades as the pipeline runs."""

    def __init__(self, pipeline: Pipeline) -> None:
        self.portfolio = pipeline.portfolio
        self.equity: list[float] = []
        self.exposure: list[bool] = []
        self.trades: list[Trade] = []
        pipeline.hub.subscribe(EquityUpdated, self._on_equity)
        pipeline.hub.subscribe(PositionClosed, self._on_trade)

    def _on_equity(self, event: EquityUpdated) -> None:
        self.equity.append(event.equity)
        self.exposure.append(self.portfolio.open_position_count() > 0)

    def _on_trade(self, event: PositionClosed) -> None:
        self.trades.append(event.trade)


def _result(
    settings: PipelineSettings,
    pipeline: Pipeline,
    frame: pd.DataFrame,
    recording: _Recording,
    elapsed: float,
) -> BacktestResult:
    start_equity = settings.portfolio.starting_cash
    equity = np.asarray(recording.equity, dtype=np.float64)
    exposure = np.asarray(recording.exposure, dtype=bool)
    times, *_, closes, _ = frame_to_arrays(frame)
    strategy = pipeline.strategy
    return BacktestResult(
        strategy=settings.strategy.name,
        params=strategy.params.model_dump(),
        symbol=strategy.symbol,
        timeframe_ms=strategy.timeframe_ms,
        bars=len(times),
        elapsed_s=elapsed,
        start_equity=start_equity,
        final_equity=float(equity[-1]) if len(equity) else start_equity,
        trades=recording.trades,
        times=times,
        close=closes,
        equity=equity,
        exposure=exposure,
        synthetic=bool(frame.attrs.get("synthetic", False)),
        metrics=compute_metrics(times, equity, exposure, recording.trades, start_equity),
    )
