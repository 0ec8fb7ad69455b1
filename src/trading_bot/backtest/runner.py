"""The backtest driver: replays a candle file through the shared pipeline on a simulated clock.

It is the same pipeline as a paper or live run; only the edges differ: candles come from a
frame (closed and validated when the file was loaded, so they enter as CANDLE_DATA_PROCESSED),
and orders fill in the simulated broker. At the end, pending orders are canceled and open
positions are closed at the last close with exit reason `end_of_backtest`.

Speed: when the strategy has a batch form (`Strategy.batch_signals`), only the candles on which
something can happen go through the pipeline: those with a signal, those on which a pending
order could fill, and those whose close expires an order. On the quiet candles between them no
order can fill and no signal comes, so the portfolio marks them and the risk manager watches
them vectorized, with the same results (tests compare the two drivers bar for bar).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import numpy.typing as npt
import pandas as pd

from trading_bot.backtest.metrics import compute_metrics
from trading_bot.backtest.result import BacktestResult
from trading_bot.core.clock import SimulatedClock
from trading_bot.core.events import (
    CandleDataProcessed,
    EquityUpdated,
    PositionClosed,
)
from trading_bot.core.model import (
    Candle,
    Signal,
    Trade,
)
from trading_bot.core.settings import PipelineSettings
from trading_bot.data.files import frame_to_arrays, infer_timeframe_ms, iter_candles
from trading_bot.data.instruments import instrument_for
from trading_bot.execution.simulated import SimulatedBroker
from trading_bot.pipeline import Pipeline, build_pipeline, flatten_at_close
from trading_bot.strategies.registry import build_strategy

ProgressCallback = Callable[[int, int], None]
END_OF_BACKTEST = "end_of_backtest"
FloatArray = npt.NDArray[np.float64]


def run_backtest(
    frame: pd.DataFrame,
    settings: PipelineSettings,
    symbol: str = "DATA",
    progress: ProgressCallback | None = None,
    skip_quiet_candles: bool = True,
) -> BacktestResult:
    """Backtest `settings.strategy` on `frame`. `skip_quiet_candles=False` sends every candle
    through the pipeline even when the strategy has a batch form (for comparisons)."""
    timeframe = infer_timeframe_ms(frame)
    strategy = build_strategy(settings.strategy.name, settings.strategy.params, symbol, timeframe)
    clock = SimulatedClock()
    instrument = instrument_for(symbol, frame, settings.instrument)
    pipeline = build_pipeline(settings, clock, strategy, instrument, None, "bt-")
    replay = _Replay(pipeline, clock, frame, symbol, timeframe, progress)
    started = time.perf_counter()
    signals = strategy.batch_signals(frame) if skip_quiet_candles else None
    if signals is None:
        replay.every_candle()
    else:
        replay.eventful_candles(signals)
    if len(frame):
        flatten_at_close(pipeline, [replay.candle(len(frame) - 1)], END_OF_BACKTEST)
        replay.equity.append(np.array([pipeline.portfolio.equity]))  # after the close-out
    elapsed = time.perf_counter() - started
    return _result(settings, pipeline, frame, replay, elapsed)


class _Replay:
    """Feeds the frame's candles to the pipeline and records equity, exposure and trades."""

    def __init__(
        self,
        pipeline: Pipeline,
        clock: SimulatedClock,
        frame: pd.DataFrame,
        symbol: str,
        timeframe: int,
        progress: ProgressCallback | None,
    ) -> None:
        self.pipeline = pipeline
        self.clock = clock
        self.symbol = symbol
        self.timeframe = timeframe
        self.progress = progress
        self.frame = frame
        self.times, self.opens, self.highs, self.lows, self.closes, self.volumes = frame_to_arrays(
            frame
        )
        self.equity: list[FloatArray] = []
        self.exposure: list[npt.NDArray[np.bool_]] = []
        self.trades: list[Trade] = []
        pipeline.hub.subscribe(EquityUpdated, self._on_equity)
        pipeline.hub.subscribe(PositionClosed, self._on_trade)

    def candle(self, i: int) -> Candle:
        return Candle(
            self.symbol,
            self.timeframe,
            int(self.times[i]),
            float(self.opens[i]),
            float(self.highs[i]),
            float(self.lows[i]),
            float(self.closes[i]),
            float(self.volumes[i]),
        )

    def every_candle(self) -> None:
        publish, advance = self.pipeline.hub.publish, self.clock.advance_to
        total = len(self.times)
        step = max(1, total // 200)
        for i, candle in enumerate(iter_candles(self.frame, self.symbol, self.timeframe)):
            advance(candle.open_time + candle.timeframe_ms)
            publish(CandleDataProcessed(candle))
            if i % step == 0:
                self._report(i)
        self._report(total)

    def eventful_candles(self, signals: dict[int, Signal]) -> None:
        """Publish only the candles on which something can happen; mark the others in bulk."""
        pipeline, total = self.pipeline, len(self.times)
        pipeline.strategy_host.precomputed = signals
        broker = pipeline.broker
        assert isinstance(broker, SimulatedBroker)
        signal_bars = np.searchsorted(self.times, sorted(signals)).tolist()
        signal_bars.append(total)
        step, reported, i = max(1, total // 200), 0, 0
        close_times = self.times + self.timeframe
        for next_signal in signal_bars:
            while i <= next_signal and i < total:
                stop = next_signal
                expiry = pipeline.execution.next_expiry()
                if expiry is not None:  # the candle that cancels an expiring order is eventful
                    stop = min(stop, max(i, int(np.searchsorted(close_times, expiry))))
                k = broker.next_possible_fill(self.symbol, self.highs, self.lows, i, stop)
                if k > i:
                    self._quiet(i, k)
                if k < total:
                    self.clock.advance_to(int(self.times[k]) + self.timeframe)
                    pipeline.hub.publish(CandleDataProcessed(self.candle(k)))
                i = k + 1
            if i - reported >= step:
                reported = i
                self._report(min(i, total))
        self._report(total)

    def _quiet(self, start: int, end: int) -> None:
        """Candles [start, end) on which nothing fills and no signal comes."""
        portfolio = self.pipeline.portfolio
        equity = portfolio.mark_span(self.symbol, self.closes[start:end])
        self.pipeline.risk.observe_equity(self.times[start:end] + self.timeframe, equity)
        self.equity.append(equity)
        self.exposure.append(np.full(end - start, portfolio.open_position_count() > 0))
        self.clock.advance_to(int(self.times[end - 1]) + self.timeframe)

    def _report(self, done: int) -> None:
        if self.progress is not None:
            self.progress(done, len(self.times))

    def _on_equity(self, event: EquityUpdated) -> None:
        self.equity.append(np.array([event.equity]))
        self.exposure.append(np.array([self.pipeline.portfolio.open_position_count() > 0]))

    def _on_trade(self, event: PositionClosed) -> None:
        self.trades.append(event.trade)


def _result(
    settings: PipelineSettings,
    pipeline: Pipeline,
    frame: pd.DataFrame,
    replay: _Replay,
    elapsed: float,
) -> BacktestResult:
    start_equity = settings.portfolio.starting_cash
    equity = np.concatenate(replay.equity) if replay.equity else np.empty(0)
    if len(equity) > len(replay.times):  # the close-out's equity replaces the last mark
        equity = np.delete(equity, -2)
    exposure = np.concatenate(replay.exposure) if replay.exposure else np.empty(0, dtype=bool)
    strategy = pipeline.strategy
    return BacktestResult(
        strategy=settings.strategy.name,
        params=strategy.params.model_dump(),
        symbol=strategy.symbol,
        timeframe_ms=strategy.timeframe_ms,
        bars=len(replay.times),
        elapsed_s=elapsed,
        start_equity=start_equity,
        final_equity=float(equity[-1]) if len(equity) else start_equity,
        trades=replay.trades,
        times=replay.times,
        close=replay.closes,
        equity=equity,
        exposure=exposure,
        synthetic=bool(frame.attrs.get("synthetic", False)),
        metrics=compute_metrics(replay.times, equity, exposure, replay.trades, start_equity),
    )
