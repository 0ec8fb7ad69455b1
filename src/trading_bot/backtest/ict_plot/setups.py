"""A strategy's setups on the chart: the backtest from the history into the window (and a
little past it, so a trade opened in the window keeps its real exit), and each trade paired
with the signal that opened it, or an entry signal with why no trade came of it."""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from trading_bot.backtest.ict_plot.window import PlotWindow
from trading_bot.backtest.runner import run_backtest
from trading_bot.core.model import Direction, Position, Signal, Trade
from trading_bot.core.settings import PipelineSettings
from trading_bot.data.files import iter_candles
from trading_bot.strategies.registry import build_strategy

ProgressCallback = Callable[[int, int], None]


@dataclass(frozen=True, slots=True)
class Setup:
    """A strategy's entry signal and what became of it: the `trade` it opened, or an
    `outcome` such as "not filled by expiry". `signal` is None for a trade no signal explains
    (a strategy that is not flat-to-flat)."""

    signal: Signal | None
    trade: Trade | None
    outcome: str

    @property
    def time(self) -> int:
        if self.signal is not None:
            return self.signal.time
        assert self.trade is not None
        return self.trade.entry_time


@dataclass(frozen=True, slots=True)
class StrategyRun:
    """The strategy's setups touching the window, in time order."""

    setups: list[Setup]

    @property
    def trades(self) -> list[Trade]:
        return [setup.trade for setup in self.setups if setup.trade is not None]


class _TradeBook:
    """The positions the backtest held, as a portfolio view, so that replaying the strategy
    gives the signals it gave in the backtest (a strategy may ask whether it holds a
    position). Fills happen before the strategy sees a candle, so a position opened on a
    candle is held at its close, and one closed on it is not."""

    def __init__(self, trades: Sequence[Trade], symbol: str, equity: float) -> None:
        self.symbol = symbol
        self.now = 0
        self._equity = equity
        spans = sorted((t.entry_time, t.exit_time, t.side) for t in trades)
        self._entries = [span[0] for span in spans]
        self._spans = spans

    @property
    def equity(self) -> float:
        return self._equity

    def position(self, symbol: str) -> Position | None:
        k = bisect_right(self._entries, self.now)
        if k == 0:
            return None
        entry = self._entries[k - 1]  # the parts of one position share their entry
        for _, exit_, side in self._spans[bisect_left(self._entries, entry) : k]:
            if exit_ > self.now:
                qty = Decimal(1) if side is Direction.LONG else Decimal(-1)
                return Position(symbol, qty, opened_time=entry)
        return None

    def open_position_count(self) -> int:
        return 0 if self.position(self.symbol) is None else 1


def run_strategy(
    window: PlotWindow,
    settings: PipelineSettings,
    symbol: str,
    progress: ProgressCallback | None = None,
) -> StrategyRun:
    """Backtest `settings.strategy` from the history into the window (and a little past it,
    see AFTER_CANDLES) and pair each trade with the signal that opened it."""
    frame = window.backtest_frame
    result = run_backtest(frame, settings, symbol, progress)
    book = _TradeBook(result.trades, symbol, result.start_equity)
    strategy = build_strategy(
        settings.strategy.name, settings.strategy.params, symbol, window.timeframe_ms
    )
    strategy.portfolio = book
    signals: list[Signal] = []
    for candle in iter_candles(frame, symbol, window.timeframe_ms):
        book.now = candle.open_time
        signal = strategy.on_candle(candle)
        if signal is not None:
            signals.append(signal)
    left, right = window.span_ms  # the window's first open and last close
    setups = [
        setup
        for setup in _pair(signals, result.trades)
        if setup.time <= right and (setup.trade.exit_time if setup.trade else setup.time) >= left
    ]
    return StrategyRun(sorted(setups, key=lambda setup: setup.time))


def _pair(signals: Sequence[Signal], trades: Sequence[Trade]) -> list[Setup]:
    """Each trade with the latest signal its way at or before its entry (a newer signal
    replaces an entry that has not filled); entry signals no trade took, with why."""
    entries = [s for s in signals if s.direction is not Direction.FLAT]
    flats = [s.time for s in signals if s.direction is Direction.FLAT]
    used: dict[int, Signal] = {}  # by entry time: the parts of one position share a signal
    setups = []
    for trade in sorted(trades, key=lambda t: t.entry_time):
        signal = used.get(trade.entry_time)
        if signal is None:
            signal = next(
                (
                    s
                    for s in reversed(entries)
                    if s.direction is trade.side
                    and s.time <= trade.entry_time
                    and all(s is not u for u in used.values())
                ),
                None,
            )
            if signal is not None:
                used[trade.entry_time] = signal
        setups.append(Setup(signal, trade, trade.exit_reason))
    taken = {id(signal) for signal in used.values()}
    for signal in entries:
        if id(signal) in taken:
            continue
        until = signal.expires if signal.expires is not None else signal.time
        later = [s for s in entries if s.time > signal.time]
        if any(signal.time < t <= until for t in flats):
            outcome = "canceled: closed beyond the stop before the entry"
        elif later and later[0].time <= until:
            outcome = "replaced by a newer signal"
        elif signal.expires is not None:
            outcome = "not filled by expiry"
        else:
            outcome = "not filled"
        setups.append(Setup(signal, None, outcome))
    return setups
