"""The pipeline's execution side on the fake OANDA (engine, portfolio, broker, transactions
stream), for the broker's tests and the venue contract."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import Any

import pandas as pd

from tests.venues.oanda.conftest import FAST, SYMBOL, candles
from tests.venues.oanda.test_oanda_trading import RULES
from tests.waiting import wait_for
from trading_bot.core.events import (
    Event,
    OrderAccepted,
    OrderCanceled,
    OrderFilled,
    OrderRejected,
    OrderRequestGenerated,
)
from trading_bot.core.hub import EventHub
from trading_bot.core.model import OrderRequest, OrderRole, OrderType, Side
from trading_bot.execution.engine import ExecutionEngine
from trading_bot.portfolio.manager import PortfolioManager
from trading_bot.testing.fake_oanda import FakeOanda
from trading_bot.testing.fake_oanda_trading import FakeOandaTrading
from trading_bot.venues.oanda import OandaRest
from trading_bot.venues.oanda.broker import OandaBroker
from trading_bot.venues.oanda.trading import OandaTrading
from trading_bot.venues.oanda.transactions import OandaTransactions


class Desk:
    """The pipeline's execution side wired to the fake OANDA: engine, portfolio, broker and
    the transactions stream, with every order event recorded."""

    def __init__(self, fake: FakeOanda, book: FakeOandaTrading, rest: OandaRest) -> None:
        self.fake, self.book = fake, book
        self.hub = EventHub()
        self.trading = OandaTrading(rest, lambda symbol: RULES)
        self.broker = OandaBroker(self.hub, fake.clock, self.trading, retry_s=0.01)
        self.engine = ExecutionEngine(self.hub, fake.clock, self.broker)
        self.portfolio = PortfolioManager(self.hub, fake.clock, 100_000.0, 5_000)
        self.transactions = OandaTransactions(
            self.hub, fake.clock, rest, self.broker.on_transaction
        )
        self.events: list[Event] = []
        self._changed = asyncio.Event()
        for kind in (OrderAccepted, OrderFilled, OrderRejected, OrderCanceled):
            self.hub.subscribe(kind, self._note)
        self.tasks = [
            asyncio.create_task(self.broker.run()),
            asyncio.create_task(self.transactions.run()),
        ]

    def _note(self, event: Any) -> None:
        self.events.append(event)
        self._changed.set()

    def enter(self, side: Side, stop: Decimal | None, target: Decimal | None) -> None:
        request = OrderRequest(
            SYMBOL, side, OrderType.MARKET, Decimal(1000), OrderRole.ENTRY, 0,
            stop_loss=stop, take_profit=target, reason="test entry",
        )  # fmt: skip
        self.hub.publish(OrderRequestGenerated(request))

    async def until(self, predicate: Callable[[], bool], timeout: float = 10.0) -> None:
        await wait_for(predicate, self._changed, self.tasks, timeout)

    async def bracketed_long(self) -> Decimal:
        """A long entry with its stop and target 20 pips away, filled and both legs accepted;
        the ask it filled at."""
        ask = self.ask()
        self.enter(Side.BUY, ask - Decimal("0.002"), ask + Decimal("0.002"))
        await self.until(lambda: sum(isinstance(e, OrderAccepted) for e in self.events) == 3)
        return ask

    def fills(self, role: OrderRole) -> list[OrderFilled]:
        return [e for e in self.events if isinstance(e, OrderFilled) and e.fill.role is role]

    def ask(self) -> Decimal:
        quote = self.fake.quote("EUR_USD")
        assert quote is not None
        return quote[2]


@asynccontextmanager
async def oanda_desk(frame: pd.DataFrame) -> AsyncIterator[Desk]:
    """A desk on a fake OANDA replaying `frame` (5 s candles), its market live from the 101st
    candle (the price the first orders trade at) and moving only when a test starts it."""
    live_from = candles(frame)[100].open_time
    fake = FakeOanda({SYMBOL: frame}, live_from_ms=live_from, heartbeat_s=0.02)
    book = FakeOandaTrading(fake)
    async with fake, OandaRest(fake.settings(**FAST)) as rest:
        desk = Desk(fake, book, rest)
        await book.transactions_connected(1)
        try:
            yield desk
        finally:
            for task in desk.tasks:
                task.cancel()
            await asyncio.gather(*desk.tasks, return_exceptions=True)
