"""The strategy interface and the host that runs strategies inside the pipeline.

A strategy sees closed candles and its own position, and answers with a `Signal` or None.
It never sizes, never sends an order and never knows whether it runs in a backtest, on paper
or live: the risk manager and the execution engine do the rest.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import structlog
from pydantic import BaseModel, ConfigDict

from trading_bot.core.events import CandleDataProcessed, TradingSignalGenerated
from trading_bot.core.hub import EventHub, Priority
from trading_bot.core.model import Candle, Direction, Signal
from trading_bot.core.ports import EntryGate, PortfolioView

if TYPE_CHECKING:  # pandas is imported by what reads frames, not by every command
    import numpy.typing as npt
    import pandas as pd

log = structlog.get_logger("trading_bot.strategy")


class StrategyParams(BaseModel):
    """Base of every strategy's parameters: frozen, unknown names, NaN and infinity are errors."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


class Strategy(ABC):
    """Subclass this, set `name` and `Params`, implement `on_candle`.

    `state()` / `restore()` carry the strategy's memory (indicator windows) across restarts.
    """

    name: ClassVar[str]
    Params: ClassVar[type[StrategyParams]] = StrategyParams
    # Candles of history to replay after a restart, for a strategy whose memory `state()`
    # does not carry; 0 when `state()` / `restore()` bring it back.
    warmup: int = 0

    def __init__(self, params: StrategyParams, symbol: str, timeframe_ms: int) -> None:
        self.params = params
        self.symbol = symbol
        self.timeframe_ms = timeframe_ms
        self.portfolio: PortfolioView | None = None
        self.entry_gate: EntryGate | None = None  # set by the host when the bot has one

    def entry_block(self, time_ms: int) -> str | None:
        """Why no entry may open at `time_ms` (a high-impact event's blackout), or None: for a
        strategy that would rather not set up a trade the risk manager will refuse."""
        gate = self.entry_gate
        return None if gate is None else gate.entry_block(self.symbol, time_ms)

    @property
    def position(self) -> Direction:
        """What this strategy's symbol holds now (looked up only when a strategy asks)."""
        position = self.portfolio.position(self.symbol) if self.portfolio is not None else None
        return position.direction if position is not None else Direction.FLAT

    @abstractmethod
    def on_candle(self, candle: Candle) -> Signal | None:
        """React to one closed candle of this strategy's symbol and timeframe."""

    def batch_signals(self, frame: pd.DataFrame) -> dict[int, Signal] | None:
        """The vectorized form: every signal `on_candle` would give over a whole candle frame,
        keyed by candle open time (ms), or None when the strategy has no such form.

        Backtests use it to skip the candles on which nothing happens; it must agree with
        `on_candle` bar for bar (test it), and may not depend on the position held.
        """
        return None

    def state(self) -> dict[str, Any]:
        return {}

    def restore(self, state: dict[str, Any]) -> None:  # noqa: B027 (an optional hook)
        """Inverse of `state()`; the default strategy has nothing to restore."""


class StrategyHost:
    """Feeds closed candles to the strategies, one per traded symbol, fenced: an exception in
    user code is logged and counted, and the pipeline goes on. `strategy` is the first one (the
    configured symbol's); `add` and `remove` change the others while the bot runs (a dynamic
    universe). With `precomputed` signals (a backtest of a strategy's batch form) it publishes
    those instead of calling the strategy."""

    def __init__(
        self,
        hub: EventHub,
        strategy: Strategy,
        portfolio: PortfolioView,
        entry_gate: EntryGate | None = None,
    ) -> None:
        self.hub = hub
        self.strategy = strategy
        self.portfolio = portfolio
        self.entry_gate = entry_gate
        self.errors = 0
        self.precomputed: dict[int, Signal] | None = None
        self._by_symbol: dict[str, Strategy] = {}
        self.add(strategy)
        hub.subscribe(CandleDataProcessed, self._on_candle, Priority.STRATEGY)

    @property
    def strategies(self) -> dict[str, Strategy]:
        """The strategy of each traded symbol (a copy)."""
        return dict(self._by_symbol)

    def add(self, strategy: Strategy) -> None:
        strategy.portfolio = self.portfolio
        strategy.entry_gate = self.entry_gate
        self._by_symbol[strategy.symbol] = strategy

    def remove(self, symbol: str) -> None:
        """Stop running `symbol`'s strategy (never the first one's)."""
        if symbol != self.strategy.symbol:
            self._by_symbol.pop(symbol, None)

    def _on_candle(self, event: CandleDataProcessed) -> None:
        candle = event.candle
        strategy = self._by_symbol.get(candle.symbol)
        if strategy is None or candle.timeframe_ms != strategy.timeframe_ms:
            return
        if self.precomputed is not None:
            signal = self.precomputed.get(candle.open_time)
            if signal is not None:
                self.hub.publish(TradingSignalGenerated(signal))
            return
        try:
            signal = strategy.on_candle(candle)
        except Exception as exc:
            self.errors += 1
            log.error(
                "strategy failed on a candle; skipped",
                strategy=strategy.name,
                symbol=candle.symbol,
                candle_time=candle.open_time,
                error=f"{type(exc).__name__}: {exc}",
                exc_info=exc,
            )
            return
        if signal is not None:
            self.hub.publish(TradingSignalGenerated(signal))


def frame_open_times(frame: pd.DataFrame) -> npt.NDArray[np.int64]:
    """Candle open times (epoch ms) of a frame's UTC index: the keys of `batch_signals`."""
    import pandas as pd

    return pd.DatetimeIndex(frame.index).to_numpy(dtype="datetime64[ms]").astype(np.int64)
