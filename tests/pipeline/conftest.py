"""A pipeline driven candle by candle with a scripted strategy, for exact expectations."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from trading_bot.core.clock import SimulatedClock
from trading_bot.core.events import CandleDataProcessed, Event
from trading_bot.core.model import Candle, Instrument, Signal
from trading_bot.core.settings import (
    ExecutionSettings,
    PipelineSettings,
    PortfolioSettings,
    RiskSettings,
)
from trading_bot.pipeline import Pipeline, build_pipeline
from trading_bot.strategies.base import Strategy, StrategyParams

SYMBOL = "TEST/USD"
HOUR = 3_600_000


# (direction, stop, target) or (direction, stop, target, limit entry, candles until it expires)
Plan = dict[int, tuple[Any, ...]]


class Scripted(Strategy):
    """Emits the signal planned for a candle's index (by open time / HOUR)."""

    name = "scripted"

    def __init__(self, plan: Plan) -> None:
        super().__init__(StrategyParams(), SYMBOL, HOUR)
        self.plan = plan

    def on_candle(self, candle: Candle) -> Signal | None:
        planned = self.plan.get(candle.open_time // HOUR)
        if planned is None:
            return None
        direction, stop, target, entry, expires_in = (*planned, None, None)[:5]
        expires = None if expires_in is None else candle.close_time + expires_in * HOUR
        return Signal(
            SYMBOL, direction, candle.close_time, candle.close, stop, target, "plan", entry, expires
        )


class Driver:
    def __init__(self, pipeline: Pipeline, clock: SimulatedClock) -> None:
        self.pipeline = pipeline
        self.clock = clock
        self.events: list[Event] = []
        self.index = 0

    def candle(self, o: float, h: float, low: float, c: float) -> Candle:
        candle = Candle(SYMBOL, HOUR, self.index * HOUR, o, h, low, c, 1.0)
        self.index += 1
        self.clock.advance_to(candle.close_time)
        self.pipeline.hub.publish(CandleDataProcessed(candle))
        return candle

    def of(self, kind: type[Any]) -> list[Any]:
        return [e for e in self.events if isinstance(e, kind)]


MakeDriver = Callable[..., Driver]


@pytest.fixture
def make_driver() -> MakeDriver:
    def make(
        plan: Plan,
        fee_rate: float = 0.0,
        slippage_bps: float = 0.0,
        cash: float = 10_000.0,
        instrument: Instrument | None = None,
        **risk: Any,
    ) -> Driver:
        settings = PipelineSettings(
            risk=RiskSettings(**risk),
            execution=ExecutionSettings(fee_rate=fee_rate, slippage_bps=slippage_bps),
            portfolio=PortfolioSettings(starting_cash=cash),
        )
        clock = SimulatedClock()
        instrument = instrument or Instrument(SYMBOL, Decimal("0.01"), Decimal("0.001"))
        pipeline = build_pipeline(settings, clock, Scripted(plan), instrument)
        driver = Driver(pipeline, clock)
        for event_type in Event.__subclasses__():
            pipeline.hub.subscribe(event_type, driver.events.append, priority=1000)
        return driver

    return make
