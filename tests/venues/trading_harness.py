"""A fake Binance with its trading half, and a broker wired to a real EventHub against it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import Any, TypeVar

import pandas as pd

from tests.venues.conftest import FAST, SYMBOL, SimSleep
from tests.waiting import wait_for
from trading_bot.core.events import (
    Event,
    FeedRestored,
    FeedStale,
    OrderAccepted,
    OrderCanceled,
    OrderFilled,
    OrderRejected,
)
from trading_bot.core.hub import EventHub, Priority
from trading_bot.core.model import Order, OrderRole, OrderStatus, OrderType, Side
from trading_bot.testing.fake_binance import FakeBinance
from trading_bot.testing.fake_binance_trading import FakeBinanceTrading
from trading_bot.venues.binance.broker import BinanceBroker
from trading_bot.venues.binance.rest import BinanceRest
from trading_bot.venues.binance.trading import BinanceTrading
from trading_bot.venues.binance.user_data import BinanceUserData

VENUE_SYMBOL = "BTCUSDT"
E = TypeVar("E", bound=Event)


@asynccontextmanager
async def fake_venue(frame: pd.DataFrame, **options: Any) -> AsyncIterator[FakeBinanceTrading]:
    """A fake Binance replaying `frame` (5m candles) whose market moves only when a test steps
    it (`Steps`), with trading mounted on it."""
    fake = FakeBinance({SYMBOL: frame}, "5m")
    async with FakeBinanceTrading(fake, **options) as venue:
        yield venue


class Steps:
    """Moves the fake market one update at a time (four per candle)."""

    def __init__(self, fake: FakeBinance) -> None:
        self._updates: Iterator[tuple[str, str]] = fake.updates()

    def __call__(self, count: int = 1) -> None:
        for _ in range(count):
            next(self._updates)

    def until(self, done: Callable[[], bool], limit: int = 2000) -> None:
        for _ in range(limit):
            if done():
                return
            next(self._updates)
        raise AssertionError("the market never got there")


def order(
    cid: str,
    kind: OrderType,
    qty: str,
    price: str | None = None,
    side: Side = Side.BUY,
    role: OrderRole = OrderRole.ENTRY,
) -> Order:
    return Order(
        client_order_id=cid,
        symbol=SYMBOL,
        side=side,
        type=kind,
        qty=Decimal(qty),
        role=role,
        created_time=0,
        price=None if price is None else Decimal(price),
        status=OrderStatus.SUBMITTED,
    )


class Harness:
    """A BinanceBroker (and, with `user_data`, a BinanceUserData) publishing into a real hub.
    `until(predicate)` waits without sleeping: every event published wakes it to look again."""

    def __init__(self, venue: FakeBinanceTrading, **settings: Any) -> None:
        self.venue = venue
        self.fake = venue.fake
        self.settings = self.fake.settings(**{**FAST, **settings})
        self.sleep = SimSleep(self.fake.clock)
        self.rest = BinanceRest(
            self.settings, self.fake.clock, sleep=self.sleep, credentials=venue.credentials
        )
        self.hub = EventHub()
        self.events: list[Event] = []
        self.steps = Steps(self.fake)
        self._changed = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        for kind in (OrderAccepted, OrderRejected, OrderCanceled, OrderFilled):
            self.hub.subscribe(kind, self._note, Priority.NOTIFY)
        for kind in (FeedStale, FeedRestored):
            self.hub.subscribe(kind, self._note, Priority.NOTIFY)
        self.trading: BinanceTrading
        self.broker: BinanceBroker
        self.user: BinanceUserData | None = None

    async def start(self, *, user_data: bool = True, **broker: Any) -> Harness:
        markets = await self.rest.markets()
        self.trading = BinanceTrading(self.rest, markets, sleep=self.sleep)
        options = {"retry_min_s": 0.001, "retry_max_s": 0.01, **broker}
        self.broker = BinanceBroker(self.hub, self.fake.clock, self.trading, markets, **options)
        self._spawn(self.broker.run())
        if user_data:
            user = self.user = BinanceUserData(
                self.hub,
                self.fake.clock,
                self.rest,
                self.settings,
                self.broker.on_execution_report,
                self.broker.reconcile,
            )
            self._spawn(user.run())
            async with asyncio.timeout(10):
                await user.synced.wait()
        return self

    def _spawn(self, work: Any) -> None:
        task = asyncio.create_task(work)
        task.add_done_callback(lambda _: self._changed.set())
        self._tasks.append(task)

    def _note(self, event: Event) -> None:
        self.events.append(event)
        self._changed.set()

    async def until(self, predicate: Callable[[], bool], timeout: float = 20.0) -> None:
        await wait_for(predicate, self._changed, self._tasks, timeout)

    def of(self, kind: type[E], cid: str | None = None) -> list[E]:
        """The events of `kind` published so far (about order `cid`)."""
        return [e for e in self.events if isinstance(e, kind) and cid in (None, _order_id(e))]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.rest.close()


def _order_id(event: Event) -> str | None:
    if isinstance(event, OrderFilled):
        return event.fill.client_order_id
    cid = getattr(event, "client_order_id", None)
    return cid if isinstance(cid, str) else None


@asynccontextmanager
async def harness(
    venue: FakeBinanceTrading,
    *,
    user_data: bool = True,
    broker: dict[str, Any] | None = None,
    **settings: Any,
) -> AsyncIterator[Harness]:
    h = Harness(venue, **settings)
    try:
        yield await h.start(user_data=user_data, **(broker or {}))
    finally:
        await h.stop()
