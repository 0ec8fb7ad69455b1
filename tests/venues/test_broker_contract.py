"""One contract for every venue, as Hummingbot runs one suite against every connector: the
pipeline's execution side (ExecutionEngine, PortfolioManager) on each venue's broker, against
its fake, must fill a bracketed entry once with its protection at the venue, keep an order whose
answer was lost to one copy, and book a stop or target the market reaches exactly once, leaving
the books and the account flat together."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from decimal import Decimal
from pathlib import Path
from typing import Protocol

import pytest

from tests.venues.conftest import SYMBOL as BTC
from tests.venues.oanda.conftest import FIVE_S, START
from tests.venues.oanda.desk import Desk, oanda_desk
from tests.venues.trading_harness import Harness, fake_venue, harness
from trading_bot.core.events import (
    Event,
    OrderAccepted,
    OrderCanceled,
    OrderFilled,
    OrderRequestGenerated,
)
from trading_bot.core.model import OrderRequest, OrderRole, OrderType, Side
from trading_bot.data.files import load_candles
from trading_bot.execution.engine import ExecutionEngine
from trading_bot.portfolio.manager import PortfolioManager
from trading_bot.testing.fake_binance import relabel
from trading_bot.testing.fake_binance_trading import TradingFaults


class VenueDesk(Protocol):
    """What the contract needs of a venue's desk."""

    symbol: str
    events: list[Event]
    engine: ExecutionEngine
    portfolio: PortfolioManager

    def enter_bracketed_long(self) -> None: ...

    async def until(self, predicate: Callable[[], bool], timeout: float = 20.0) -> None: ...

    def lose_answers_after_accept(self) -> None: ...

    def copies_at_venue(self, client_order_id: str) -> int: ...

    async def move_market_until_flat(self) -> None: ...

    def venue_position(self) -> Decimal: ...


class BinanceDesk:
    """The Binance broker and user-data stream (`Harness`) under an engine and a portfolio."""

    symbol = BTC
    START_BTC = Decimal(100)  # the fake account's

    def __init__(self, h: Harness) -> None:
        self.h, self.venue = h, h.venue
        self.events = h.events
        self.portfolio = PortfolioManager(h.hub, h.fake.clock, 10_000.0, 300_000)
        self.engine = ExecutionEngine(h.hub, h.fake.clock, h.broker, "tb-", self.portfolio)

    def enter_bracketed_long(self) -> None:
        price = Decimal(str(self.h.fake.last_price("BTCUSDT")))
        stop = (price * Decimal("0.995")).quantize(Decimal("0.01"))
        target = (price * Decimal("1.005")).quantize(Decimal("0.01"))
        request = OrderRequest(
            BTC, Side.BUY, OrderType.MARKET, Decimal("0.05"), OrderRole.ENTRY, 0,
            stop_loss=stop, take_profit=target, reason="contract",
        )  # fmt: skip
        self.h.hub.publish(OrderRequestGenerated(request))

    async def until(self, predicate: Callable[[], bool], timeout: float = 20.0) -> None:
        await self.h.until(predicate, timeout)

    def lose_answers_after_accept(self) -> None:
        self.venue.faults = TradingFaults(error_after_accept_every=1)

    def copies_at_venue(self, client_order_id: str) -> int:
        return len(self.venue.orders_with_id(client_order_id))

    async def move_market_until_flat(self) -> None:
        self.h.steps.until(lambda: not self.venue.working_orders())

    def venue_position(self) -> Decimal:
        held = self.venue.free("BTC") + self.venue.locked.get("BTC", Decimal(0))  # by the OCO
        return held - self.START_BTC


class OandaDesk:
    """The OANDA broker and transactions stream (`Desk`), with its engine and portfolio."""

    def __init__(self, desk: Desk) -> None:
        self.desk = desk
        self.symbol = "EUR/USD"
        self.events = desk.events
        self.engine, self.portfolio = desk.engine, desk.portfolio

    def enter_bracketed_long(self) -> None:
        ask = self.desk.ask()
        self.desk.enter(Side.BUY, ask - Decimal("0.002"), ask + Decimal("0.002"))

    async def until(self, predicate: Callable[[], bool], timeout: float = 20.0) -> None:
        await self.desk.until(predicate, timeout)

    def lose_answers_after_accept(self) -> None:
        self.desk.book.fail_after_accept(503)

    def copies_at_venue(self, client_order_id: str) -> int:
        return sum(o.client_id == client_order_id for o in self.desk.book.orders.values())

    async def move_market_until_flat(self) -> None:
        self.desk.fake.start_market()
        await self.desk.until(lambda: not self.desk.book.trades)

    def venue_position(self) -> Decimal:
        return sum((t.units for t in self.desk.book.trades.values()), Decimal(0))


@asynccontextmanager
async def binance_desk(shared_data: Path) -> AsyncIterator[VenueDesk]:
    frame = load_candles(shared_data / "binance-BTCUSDT-5m.csv.gz").iloc[:300]
    async with fake_venue(frame) as venue, harness(venue) as h:
        yield BinanceDesk(h)


@asynccontextmanager
async def oanda(shared_data: Path) -> AsyncIterator[VenueDesk]:
    frame = load_candles(shared_data / "oanda-EURUSD-1h.csv.gz").iloc[:400]
    async with oanda_desk(relabel(frame, FIVE_S, START)) as desk:
        yield OandaDesk(desk)


@pytest.fixture(params=["binance", "oanda"])
async def desk(request: pytest.FixtureRequest, shared_data: Path) -> AsyncIterator[VenueDesk]:
    make = binance_desk if request.param == "binance" else oanda
    async with make(shared_data) as venue_desk:
        yield venue_desk


def accepted(desk: VenueDesk) -> list[OrderAccepted]:
    return [e for e in desk.events if isinstance(e, OrderAccepted)]


def fills(desk: VenueDesk, *roles: OrderRole) -> list[OrderFilled]:
    return [e for e in desk.events if isinstance(e, OrderFilled) and e.fill.role in roles]


def held(desk: VenueDesk) -> Decimal:
    position = desk.portfolio.position(desk.symbol)
    return Decimal(0) if position is None else position.qty


async def test_a_bracketed_entry_fills_once_with_its_protection_at_the_venue(
    desk: VenueDesk,
) -> None:
    desk.enter_bracketed_long()
    await desk.until(lambda: len(accepted(desk)) == 3)  # the entry, its stop and its target
    (entry,) = fills(desk, OrderRole.ENTRY)
    assert desk.copies_at_venue(entry.fill.client_order_id) == 1
    assert held(desk) == desk.venue_position() > 0  # the books equal the account
    legs = {o.role for o in desk.engine.open_orders(desk.symbol)}
    assert legs == {OrderRole.STOP_LOSS, OrderRole.TAKE_PROFIT}


async def test_an_order_whose_answer_was_lost_after_the_venue_took_it_exists_once(
    desk: VenueDesk,
) -> None:
    desk.lose_answers_after_accept()
    desk.enter_bracketed_long()
    await desk.until(lambda: bool(fills(desk, OrderRole.ENTRY)))
    (entry,) = fills(desk, OrderRole.ENTRY)
    cid = entry.fill.client_order_id
    assert desk.copies_at_venue(cid) == 1
    assert [e.client_order_id for e in accepted(desk)].count(cid) == 1
    assert held(desk) == desk.venue_position()


async def test_a_stop_or_target_the_market_reaches_closes_the_position_once(
    desk: VenueDesk,
) -> None:
    desk.enter_bracketed_long()
    await desk.until(lambda: len(accepted(desk)) == 3)
    await desk.move_market_until_flat()
    await desk.until(lambda: not desk.engine.open_orders(desk.symbol))
    (exit_fill,) = fills(desk, OrderRole.STOP_LOSS, OrderRole.TAKE_PROFIT)
    assert exit_fill.fill.qty == fills(desk, OrderRole.ENTRY)[0].fill.held_qty
    assert held(desk) == desk.venue_position() == 0
    (other_leg,) = [e for e in desk.events if isinstance(e, OrderCanceled)]
    assert other_leg.client_order_id != exit_fill.fill.client_order_id
