"""`OandaLive` as the app drives it (the `LiveVenue` protocol): reconciliation rules at start,
and restarts that book what happened at OANDA while the bot was down, once, as the
transactions stream would have booked it."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

import pandas as pd
import pytest

from tests.venues.oanda.conftest import FAST, FIVE_S, SYMBOL, candles
from tests.waiting import wait_for
from trading_bot.core.events import (
    Event,
    OrderAccepted,
    OrderCanceled,
    OrderFilled,
    OrderRequestGenerated,
)
from trading_bot.core.hub import EventHub
from trading_bot.core.model import (
    ZERO,
    Fill,
    Order,
    OrderRequest,
    OrderRole,
    OrderStatus,
    OrderType,
    Position,
    Side,
)
from trading_bot.core.settings import InstrumentSettings
from trading_bot.execution.engine import ExecutionEngine
from trading_bot.portfolio.manager import PortfolioManager
from trading_bot.testing.fake_oanda import FakeOanda
from trading_bot.testing.fake_oanda_trading import FakeOandaTrading
from trading_bot.venues.oanda import OandaMarket, OandaRest
from trading_bot.venues.oanda.live import OandaLive

Frames = Callable[[int], pd.DataFrame]
QTY = Decimal(1000)
LEGS = (OrderRole.STOP_LOSS, OrderRole.TAKE_PROFIT)
REASON = "sma cross"


class Books:
    def __init__(self, qty: Decimal = ZERO) -> None:
        self.cash = Decimal(10_000)
        self._qty = qty

    def position(self, symbol: str) -> Position | None:
        return Position(symbol, self._qty) if self._qty else None


@dataclass
class Saved:
    """What the database holds when a run ends: open orders and the position."""

    orders: list[Order]
    position: Position | None = None


class Session:
    """One run of the bot's execution side on a live OANDA venue, restored from `saved`, its
    background tasks started after the reconciliation (`start`), as the app does."""

    def __init__(self, live: OandaLive, saved: Saved | None = None) -> None:
        self.live = live
        clock = live.market.clock
        self.hub = EventHub()
        self.events: list[Event] = []
        self.changed = asyncio.Event()
        self.engine = ExecutionEngine(self.hub, clock, live.broker(self.hub))
        self.portfolio = PortfolioManager(self.hub, clock, 100_000.0, FIVE_S)
        if saved is not None:
            self.portfolio.restore({}, [saved.position] if saved.position else [])
            self.engine.restore(saved.orders, 3)
            live.adopt(saved.orders)
        for kind in (OrderAccepted, OrderFilled, OrderCanceled):
            self.hub.subscribe(kind, self._note)
        self.tasks: list[asyncio.Task[None]] = []

    async def start(self, book: FakeOandaTrading) -> None:
        """The broker's worker and the transactions stream, connected when this returns."""
        connected = book.transaction_connections
        self.tasks = [asyncio.create_task(task) for task in self.live.tasks().values()]
        async with asyncio.timeout(10):
            await book.transactions_connected(connected + 1)

    async def reconcile(self) -> list[str]:
        return await self.live.reconcile(self.portfolio, "tb-")

    def _note(self, event: Event) -> None:
        self.events.append(event)
        self.changed.set()

    async def until(self, predicate: Callable[[], bool]) -> None:
        await wait_for(predicate, self.changed, timeout=10)

    def of(self, kind: type[Any]) -> list[Any]:
        return [e for e in self.events if isinstance(e, kind)]

    def held(self) -> Decimal:
        position = self.portfolio.position(SYMBOL)
        return ZERO if position is None else position.qty

    def saved(self, legs: OrderStatus = OrderStatus.ACCEPTED) -> Saved:
        """What the database holds now; `legs` SUBMITTED: as saved before their confirmation."""
        orders = [copy.copy(o) for o in self.engine.open_orders()]
        if legs is OrderStatus.SUBMITTED:
            orders = [replace(o, status=legs, venue_order_id=None) for o in orders]
        position = self.portfolio.position(SYMBOL)
        return Saved(orders, None if position is None else copy.copy(position))

    async def stop(self) -> None:
        """As the app stops: the broker carries out what is queued, then everything ends."""
        if self.tasks:
            async with asyncio.timeout(10):
                await self.live.drain()
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        await self.live.market.close()


class Venue:
    """The fake OANDA with its trading half; `run()` makes a fresh bot's live side on it."""

    def __init__(self, fake: FakeOanda) -> None:
        self.fake = fake
        self.book = FakeOandaTrading(fake)

    async def run(self) -> OandaLive:
        market = OandaMarket(self.fake.settings(**FAST))
        await market.prepare(InstrumentSettings())
        return OandaLive(market)

    def ask(self) -> Decimal:
        quote = self.fake.quote("EUR_USD")
        assert quote is not None
        return quote[2]

    def entry(self, ask: Decimal) -> OrderRequest:
        """A long market entry with its stop and target 20 pips away."""
        return OrderRequest(
            SYMBOL, Side.BUY, OrderType.MARKET, QTY, OrderRole.ENTRY, 0,
            stop_loss=ask - Decimal("0.002"), take_profit=ask + Decimal("0.002"), reason=REASON,
        )  # fmt: skip

    async def bracketed(self) -> Session:
        """A running bot that entered long, with its stop and target made by OANDA and bound."""
        session = Session(await self.run())
        await session.start(self.book)
        session.hub.publish(OrderRequestGenerated(self.entry(self.ask())))
        await session.until(lambda: len(session.of(OrderAccepted)) == 3)
        return session

    async def sell_by_hand(self, units: int) -> None:
        """The account's owner sells at market (OANDA reduces the open long trade first)."""
        path = f"/v3/accounts/{self.fake.account_id}/orders"
        body = {"order": {"type": "MARKET", "instrument": "EUR_USD", "units": str(-units)}}
        async with OandaRest(self.fake.settings(**FAST)) as rest:
            await rest.write("POST", path, body)

    async def move_the_market(self) -> None:
        """The price runs through the rest of the candles: the stop or the target is hit."""
        self.fake.start_market()
        await self.fake.finished.wait()
        assert self.book.trades == {}

    def leg_fill(self) -> dict[str, Any]:
        """OANDA's fill of the stop or the target (there is one)."""
        (fill,) = [
            t
            for t in self.book.transactions.values()
            if t["type"] == "ORDER_FILL" and t["reason"] in ("STOP_LOSS_ORDER", "TAKE_PROFIT_ORDER")
        ]
        return fill


@pytest.fixture
async def venue(fives: Frames) -> AsyncIterator[Venue]:
    frame = fives(400)
    fake = FakeOanda({SYMBOL: frame}, live_from_ms=candles(frame)[100].open_time, heartbeat_s=0.02)
    venue = Venue(fake)
    async with fake:
        yield venue


async def test_a_restart_books_the_stop_or_target_hit_while_the_bot_was_down(
    venue: Venue,
) -> None:
    first = await venue.bracketed()
    saved = first.saved()
    await first.stop()
    await venue.move_the_market()

    second = Session(await venue.run(), saved)
    problems = await second.reconcile()
    await second.stop()
    assert problems == []
    (fill,) = second.of(OrderFilled)
    (cancel,) = second.of(OrderCanceled)
    assert fill.fill.role in LEGS and cancel.reason == "LINKED_TRADE_CLOSED"
    assert second.engine.open_orders() == [] and second.held() == 0


async def test_a_stop_or_target_hit_before_the_bot_saw_its_legs_confirmed_is_booked_once(
    venue: Venue,
) -> None:
    first = await venue.bracketed()
    saved = first.saved(legs=OrderStatus.SUBMITTED)  # killed before their acceptance was saved
    await first.stop()
    await venue.move_the_market()

    second = Session(await venue.run(), saved)
    assert second.held() == QTY
    problems = await second.reconcile()
    await second.start(venue.book)  # the other leg's cancel, queued, finds it ended
    await second.stop()
    assert problems == []  # the books agree without a pause: flat, as OANDA
    assert second.held() == 0
    (booked,) = second.of(OrderFilled)
    at_oanda = venue.leg_fill()  # booked as the stream books a fill: at OANDA's price, no fee
    role = OrderRole.STOP_LOSS if at_oanda["reason"] == "STOP_LOSS_ORDER" else OrderRole.TAKE_PROFIT
    (leg,) = [o for o in saved.orders if o.role is role]
    assert booked.fill == Fill(
        leg.client_order_id, SYMBOL, Side.SELL, QTY, Decimal(at_oanda["price"]), ZERO,
        booked.fill.time, role, f"{REASON} ({at_oanda['reason']})",
    )  # fmt: skip
    (cancel,) = second.of(OrderCanceled)  # the other leg: never sent at market on a guess
    assert cancel.reason == "its trade is closed at OANDA"
    assert second.engine.open_orders() == [] and venue.book.posts == {"tb-1": 1}


async def test_an_entry_never_confirmed_then_stopped_out_while_down_is_booked_and_not_resent(
    venue: Venue,
) -> None:
    live = await venue.run()
    entry = Order(
        "tb-1", SYMBOL, Side.BUY, OrderType.MARKET, QTY, OrderRole.ENTRY, 0,
        stop_loss=venue.ask() - Decimal("0.002"), take_profit=venue.ask() + Decimal("0.002"),
        reason=REASON, status=OrderStatus.SUBMITTED,
    )  # fmt: skip
    await live.trading.place(entry)  # it reached OANDA; the bot was killed before the answer
    await live.market.close()
    await venue.move_the_market()

    second = Session(await venue.run(), Saved([copy.copy(entry)]))
    problems = await second.reconcile()
    await second.start(venue.book)
    await second.stop()
    assert problems == []
    roles = [e.fill.role for e in second.of(OrderFilled)]
    assert roles[0] is OrderRole.ENTRY and len(roles) == 2 and roles[1] in LEGS
    assert second.held() == 0 and second.engine.open_orders() == []
    assert venue.book.posts == {"tb-1": 1}  # looked up, never sent again


async def test_a_trade_closed_partly_by_hand_then_stopped_out_books_only_the_bots_part(
    venue: Venue,
) -> None:
    first = await venue.bracketed()
    saved = first.saved(legs=OrderStatus.SUBMITTED)
    await first.stop()
    await venue.sell_by_hand(400)  # OANDA reduces the bot's trade to 600 units
    await venue.move_the_market()

    second = Session(await venue.run(), saved)
    problems = await second.reconcile()
    await second.stop()
    (booked,) = second.of(OrderFilled)
    at_oanda = venue.leg_fill()
    assert (booked.fill.qty, booked.fill.price) == (600, Decimal(at_oanda["price"]))
    leg = second.engine.get(booked.fill.client_order_id)
    assert leg is not None and leg.status is OrderStatus.CANCELED and leg.filled_qty == 600
    assert second.engine.open_orders() == []
    assert second.held() == 400  # the owner's sale is not the bot's: the units check says so
    assert problems == [
        "OANDA holds 0 units of EUR/USD net, but the bot's books hold 400: were trades opened "
        "or closed outside the bot?"
    ]


async def test_a_fill_the_database_holds_already_is_not_booked_again(venue: Venue) -> None:
    first = await venue.bracketed()
    saved = first.saved()
    await first.stop()
    await venue.move_the_market()
    at_oanda = venue.leg_fill()
    (leg,) = [o for o in saved.orders if o.venue_order_id == at_oanda["orderID"]]
    # an older bot's record: the fill booked, the leg left open for the rest of its quantity
    leg.qty, leg.filled_qty, leg.status = QTY + 500, QTY, OrderStatus.PARTIALLY_FILLED
    saved.position = None

    second = Session(await venue.run(), saved)
    problems = await second.reconcile()
    await second.stop()
    assert problems == []
    assert second.of(OrderFilled) == []
    ended = second.engine.get(leg.client_order_id)
    assert ended is not None and ended.status is OrderStatus.CANCELED
    assert ended.filled_qty == QTY and second.engine.open_orders() == []


async def test_a_stop_or_target_hit_between_reconciliation_and_stream_is_caught_up(
    venue: Venue,
) -> None:
    first = await venue.bracketed()
    saved = first.saved()
    await first.stop()

    second = Session(await venue.run(), saved)
    assert await second.reconcile() == []
    await venue.move_the_market()  # before the transactions stream is back
    await second.start(venue.book)
    await second.until(lambda: second.engine.open_orders() == [])
    await second.stop()
    (fill,) = second.of(OrderFilled)
    assert fill.fill.role in LEGS
    assert second.held() == 0


async def test_a_stop_or_target_hit_during_reconciliation_is_booked_before_units_compare(
    venue: Venue,
) -> None:
    first = await venue.bracketed()
    saved = first.saved()
    await first.stop()
    # its legs looked up still pending, then the market moves before the units are read
    venue.fake.before("openPositions", venue.move_the_market)

    second = Session(await venue.run(), saved)
    problems = await second.reconcile()
    await second.stop()
    assert problems == []
    (fill,) = second.of(OrderFilled)
    assert fill.fill.role in LEGS and second.held() == 0


async def test_reconciliation_names_unknown_orders_and_positions_held_elsewhere(
    venue: Venue,
) -> None:
    fake = venue.fake
    live = await venue.run()
    live.broker(EventHub())
    assert await live.reconcile(Books(), "tb-") == []
    low = str(venue.ask() / 2)
    rest = live.market.rest
    for cid in ("tb-77", "mine-1"):  # one of the bot's, one of the owner's
        body = {"order": {"type": "LIMIT", "instrument": "EUR_USD", "units": "100",
                          "price": low, "clientExtensions": {"id": cid}}}  # fmt: skip
        await rest.write("POST", f"/v3/accounts/{fake.account_id}/orders", body)
    await venue.sell_by_hand(300)
    problems = await live.reconcile(Books(Decimal(200)), "tb-")
    await live.market.close()
    assert len(problems) == 2
    assert problems[0].startswith("order tb-77 (LIMIT 100 EUR/USD) is pending at OANDA")
    assert problems[1].startswith(
        "OANDA holds -300 units of EUR/USD net, but the bot's books hold 200"
    )
    assert live.describe().startswith("LIVE orders on OANDA practice, account 101-")
