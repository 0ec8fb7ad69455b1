"""Builds the one trading pipeline that backtests, paper runs and live runs all share.

Only the edges differ between them: where candles come from (the caller publishes
`MarketDataReceived`) and where orders go (the simulated broker, or a venue's broker client).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from trading_bot.core.clock import Clock
from trading_bot.core.events import OrderRequestGenerated
from trading_bot.core.hub import EventHub
from trading_bot.core.model import Candle, Instrument, OrderRequest, OrderRole, OrderType, Side
from trading_bot.core.ports import Broker, EntryGate
from trading_bot.core.settings import PipelineSettings
from trading_bot.data.processor import DataProcessor
from trading_bot.execution.engine import ExecutionEngine
from trading_bot.execution.simulated import SimulatedBroker
from trading_bot.portfolio.manager import PortfolioManager
from trading_bot.risk.manager import RiskManager
from trading_bot.strategies.base import Strategy, StrategyHost


@dataclass
class Pipeline:
    hub: EventHub
    clock: Clock
    processor: DataProcessor
    portfolio: PortfolioManager
    strategy: Strategy
    strategy_host: StrategyHost
    risk: RiskManager
    execution: ExecutionEngine
    broker: Broker
    instruments: dict[str, Instrument]  # shared with the risk manager and the simulator

    def trade(self, instrument: Instrument, strategy: Strategy) -> None:
        """Start trading another symbol with its own strategy (a dynamic universe)."""
        self.instruments[instrument.symbol] = instrument
        self.strategy_host.add(strategy)

    def stop_trading(self, symbol: str) -> None:
        """Stop `symbol`'s strategy: no new signals. Its instrument stays known, so whatever
        is still open in it can be managed and closed."""
        self.strategy_host.remove(symbol)


class EntryGates:
    """Several entry gates as one: the first that blocks names the reason."""

    def __init__(self, *gates: EntryGate | None) -> None:
        self.gates = [gate for gate in gates if gate is not None]

    def entry_block(self, symbol: str, time_ms: int) -> str | None:
        for gate in self.gates:
            reason = gate.entry_block(symbol, time_ms)
            if reason is not None:
                return reason
        return None


def build_pipeline(
    settings: PipelineSettings,
    clock: Clock,
    strategy: Strategy,
    instrument: Instrument,
    broker: Broker | None = None,
    id_prefix: str = "tb-",
    hub: EventHub | None = None,
    entry_gate: EntryGate | None = None,
) -> Pipeline:
    """Wire the components on `hub` (a new one by default; a venue's broker publishes on the
    hub it was made with). Without a `broker`, orders fill in the simulator. An `entry_gate`
    (an economic calendar) may refuse new entries; the risk manager asks it, and the
    strategies may (`Strategy.entry_block`)."""
    hub = EventHub() if hub is None else hub
    instruments = {instrument.symbol: instrument}
    timeframe = strategy.timeframe_ms
    if broker is None:
        broker = SimulatedBroker(hub, clock, settings.execution, instruments, timeframe)
    processor = DataProcessor(hub)
    portfolio = PortfolioManager(hub, clock, settings.portfolio.starting_cash, timeframe)
    execution = ExecutionEngine(hub, clock, broker, id_prefix, portfolio)
    risk = RiskManager(hub, clock, settings.risk, instruments, portfolio, execution, entry_gate)
    host = StrategyHost(hub, strategy, portfolio, entry_gate)
    return Pipeline(
        hub, clock, processor, portfolio, strategy, host, risk, execution, broker, instruments
    )


def flatten_at_close(pipeline: Pipeline, lasts: Sequence[Candle], reason: str) -> None:
    """Cancel every open order, then close every open position at its symbol's last close
    (`lasts`: the last candle of each symbol) in the simulated broker (the end of a backtest,
    or `bot.close_positions_on_shutdown` on paper)."""
    broker = pipeline.broker
    assert isinstance(broker, SimulatedBroker), "only a simulated broker can settle at a close"
    request_flatten(pipeline, max(last.close_time for last in lasts), reason)
    for last in lasts:
        broker.settle_at_close(last)


def request_flatten(pipeline: Pipeline, time: int, reason: str, symbol: str | None = None) -> None:
    """Cancel every open order and ask for a market exit of every open position (of `symbol`
    only, if given); the broker carries them out (a venue's at once, the simulator at its next
    price)."""
    execution = pipeline.execution
    for order in execution.open_orders(symbol):
        execution.cancel(order.client_order_id)
    for position in pipeline.portfolio.open_positions():
        if symbol is not None and position.symbol != symbol:
            continue
        side = Side.SELL if position.qty > 0 else Side.BUY
        request = OrderRequest(
            position.symbol,
            side,
            OrderType.MARKET,
            abs(position.qty),
            OrderRole.EXIT,
            time,
            reason=reason,
        )
        pipeline.hub.publish(OrderRequestGenerated(request))
