"""`OandaLive` as the app drives it (the `LiveVenue` protocol): reconciliation rules at start,
and a restart that books what happened at OANDA while the bot was down."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Callable
from decimal import Decimal

import pandas as pd

from tests.venues.oanda.conftest import FAST, SYMBOL, candles
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
    OrderRequest,
    OrderRole,
    OrderType,
    Position,
    Side,
)
from trading_bot.core.settings import InstrumentSettings
from trading_bot.execution.engine import ExecutionEngine
from trading_bot.testing.fake_oanda import FakeOanda
from trading_bot.testing.fake_oanda_trading import FakeOandaTrading
from trading_bot.venues.market import LiveVenue
from trading_bot.venues.oanda import OandaMarket
from trading_bot.venues.oanda.live import OandaLive

Frames = Callable[[int], pd.DataFrame]


class Books:
    def __init__(self, qty: Decimal = ZERO) -> None:
        self.cash = Decimal(10_000)
        self._qty = qty

    def position(self, symbol: str) -> Position | None:
        return Position(symbol, self._qty) if self._qty else None


class Session:
    """One run of the bot's execution side on a live OANDA venue."""

    def __init__(self, live: LiveVenue, clock: object) -> None:
        self.hub = EventHub()
        self.events: list[Event] = []
        self.changed = asyncio.Event()
        broker = live.broker(self.hub)
        self.engine = ExecutionEngine(self.hub, clock, broker)  # type: ignore[arg-type]
        for kind in (OrderAccepted, OrderFilled, OrderCanceled):
            self.hub.subscribe(kind, self._note)
        self.tasks = [asyncio.create_task(task) for task in live.tasks().values()]

    def _note(self, event: Event) -> None:
        self.events.append(event)
        self.changed.set()

    async def until(self, predicate: Callable[[], bool]) -> None:
        async with asyncio.timeout(10):
            while not predicate():
                self.changed.clear()
                await self.changed.wait()

    async def stop(self) -> None:
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)


async def prepared(fake: FakeOanda) -> tuple[OandaMarket, OandaLive]:
    market = OandaMarket(fake.settings(**FAST))
    await market.prepare(InstrumentSettings())
    return market, OandaLive(market)


async def test_a_restart_books_the_stop_or_target_hit_while_the_bot_was_down(
    fives: Frames,
) -> None:
    frame = fives(400)
    fake = FakeOanda({SYMBOL: frame}, live_from_ms=candles(frame)[100].open_time, heartbeat_s=0.02)
    book = FakeOandaTrading(fake)
    async with fake:
        market, live = await prepared(fake)
        first = Session(live, fake.clock)
        quote = fake.quote("EUR_USD")
        assert quote is not None
        ask = quote[2]
        request = OrderRequest(
            SYMBOL, Side.BUY, OrderType.MARKET, Decimal(1000), OrderRole.ENTRY, 0,
            stop_loss=ask - Decimal("0.002"), take_profit=ask + Decimal("0.002"),
        )  # fmt: skip
        first.hub.publish(OrderRequestGenerated(request))
        await first.until(lambda: sum(isinstance(e, OrderAccepted) for e in first.events) == 3)
        saved = [copy.copy(o) for o in first.engine.open_orders()]  # what the database holds
        await first.stop()
        await live.drain()
        await market.close()

        fake.start_market()  # the bot is down; the stop or the target is hit
        await fake.finished.wait()
        assert book.trades == {}

        market, live = await prepared(fake)
        second = Session(live, fake.clock)
        second.engine.restore(saved, 3)
        live.adopt(saved)
        problems = await live.reconcile(Books(), "tb-")
        await second.stop()
        await market.close()
    assert problems == []
    fills = [e for e in second.events if isinstance(e, OrderFilled)]
    cancels = [e for e in second.events if isinstance(e, OrderCanceled)]
    assert len(fills) == 1 and fills[0].fill.role in (OrderRole.STOP_LOSS, OrderRole.TAKE_PROFIT)
    assert len(cancels) == 1 and cancels[0].reason == "LINKED_TRADE_CLOSED"
    assert second.engine.open_orders() == []


async def test_reconciliation_names_unknown_orders_and_positions_held_elsewhere(
    fives: Frames,
) -> None:
    frame = fives(200)
    fake = FakeOanda({SYMBOL: frame}, live_from_ms=candles(frame)[100].open_time)
    FakeOandaTrading(fake)
    async with fake:
        market, live = await prepared(fake)
        live.broker(EventHub())
        assert await live.reconcile(Books(), "tb-") == []
        quote = fake.quote("EUR_USD")
        assert quote is not None
        low = str(quote[1] / 2)
        for cid in ("tb-77", "mine-1"):  # one of the bot's, one of the owner's
            body = {"order": {"type": "LIMIT", "instrument": "EUR_USD", "units": "100",
                              "price": low, "clientExtensions": {"id": cid}}}  # fmt: skip
            await market.rest.write("POST", f"/v3/accounts/{fake.account_id}/orders", body)
        await market.rest.write(
            "POST",
            f"/v3/accounts/{fake.account_id}/orders",
            {"order": {"type": "MARKET", "instrument": "EUR_USD", "units": "-300"}},
        )
        problems = await live.reconcile(Books(Decimal(200)), "tb-")
        await market.close()
    assert len(problems) == 2
    assert problems[0].startswith("order tb-77 (LIMIT 100 EUR/USD) is pending at OANDA")
    assert problems[1].startswith(
        "OANDA holds -300 units of EUR/USD net, but the bot's books hold 200"
    )
    assert live.describe().startswith("LIVE orders on OANDA practice, account 101-")
