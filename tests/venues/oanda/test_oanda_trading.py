"""OANDA orders against the fake's trading half: entries that carry their stop and target,
pending orders, cancels, closing a position, and orders placed exactly once when the answer is
lost."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from decimal import Decimal

import pandas as pd
import pytest

from tests.venues.oanda.conftest import FAST, SYMBOL, candles
from trading_bot.core.model import Instrument, Order, OrderRole, OrderType, Side
from trading_bot.testing.fake_oanda import FakeOanda
from trading_bot.testing.fake_oanda_trading import FakeOandaTrading
from trading_bot.venues.errors import InvalidOrder
from trading_bot.venues.oanda import OandaRest, OandaSettings
from trading_bot.venues.oanda.trading import OandaTrading, State

Frames = Callable[[int], pd.DataFrame]
RULES = Instrument(SYMBOL, tick_size=Decimal("0.00001"), lot_step=Decimal(1), min_qty=Decimal(1))


def order(
    cid: str,
    side: Side = Side.BUY,
    kind: OrderType = OrderType.MARKET,
    qty: str = "1000.7",
    price: str | None = None,
    stop: str | None = None,
    target: str | None = None,
    role: OrderRole = OrderRole.ENTRY,
) -> Order:
    return Order(
        cid,
        SYMBOL,
        side,
        kind,
        Decimal(qty),
        role,
        0,
        price=None if price is None else Decimal(price),
        stop_loss=None if stop is None else Decimal(stop),
        take_profit=None if target is None else Decimal(target),
    )


class Venue:
    """A fake OANDA with its trading half, and our client of it."""

    def __init__(self, fake: FakeOanda, book: FakeOandaTrading, trading: OandaTrading) -> None:
        self.fake, self.book, self.trading = fake, book, trading

    def ask(self) -> Decimal:
        quote = self.fake.quote("EUR_USD")
        assert quote is not None
        return quote[2]


@pytest.fixture
async def venue(fives: Frames) -> AsyncIterator[Venue]:
    frame = fives(400)
    live_from = candles(frame)[100].open_time  # 100 candles of history: a price to trade at
    fake = FakeOanda({SYMBOL: frame}, live_from_ms=live_from, heartbeat_s=0.02)
    book = FakeOandaTrading(fake)
    async with fake, OandaRest(fake.settings(**FAST)) as rest:
        yield Venue(fake, book, OandaTrading(rest, lambda symbol: RULES))


def test_orders_become_signed_units_on_the_grids() -> None:
    trading = OandaTrading(OandaRest(OandaSettings(account_id="101-1")), lambda s: RULES)
    body = trading.order_body(order("tb-1", Side.SELL, qty="2500.9", stop="1.123456", target="1.1"))
    assert body == {
        "order": {
            "type": "MARKET",
            "instrument": "EUR_USD",
            "units": "-2500",
            "positionFill": "DEFAULT",
            "clientExtensions": {"id": "tb-1"},
            "tradeClientExtensions": {"id": "tb-1"},
            "timeInForce": "FOK",
            "stopLossOnFill": {"price": "1.12346"},
            "takeProfitOnFill": {"price": "1.1"},
        }
    }
    limit = trading.order_body(order("tb-2", kind=OrderType.LIMIT, price="1.0999999"))["order"]
    assert (limit["type"], limit["price"], limit["timeInForce"]) == ("LIMIT", "1.1", "GTC")
    with pytest.raises(InvalidOrder, match="round to nothing"):
        trading.order_body(order("tb-3", qty="0.5"))
    exit_body = trading.order_body(order("tb-4", Side.SELL, role=OrderRole.EXIT))["order"]
    assert exit_body["positionFill"] == "REDUCE_ONLY"


async def test_an_exit_that_arrives_after_the_stop_closed_the_trade_opens_nothing(
    venue: Venue,
) -> None:
    ask = venue.ask()
    stop = ask - Decimal("0.002")
    await venue.trading.place(order("tb-1", stop=str(stop)))
    venue.fake.start_market()  # the market falls through the stop before our exit arrives
    await venue.fake.finished.wait()
    assert await venue.trading.open_trades() == []
    late = await venue.trading.place(order("tb-2", Side.SELL, role=OrderRole.EXIT))
    assert late.state is State.CANCELED
    assert await venue.trading.open_trades() == []  # not a short of 1000


async def test_an_exit_larger_than_the_position_only_closes_it(venue: Venue) -> None:
    await venue.trading.place(order("tb-1", qty="600"))
    exit_ = await venue.trading.place(order("tb-2", Side.SELL, qty="1000", role=OrderRole.EXIT))
    assert (exit_.state, exit_.filled_qty) == (State.FILLED, Decimal(600))
    assert await venue.trading.open_trades() == []


async def test_a_market_entry_fills_with_its_stop_and_target_on_the_trade(venue: Venue) -> None:
    ask = venue.ask()
    stop, target = str(ask - Decimal("0.005")), str(ask + Decimal("0.005"))
    outcome = await venue.trading.place(order("tb-1", stop=stop, target=target))
    assert (outcome.state, outcome.filled_qty, outcome.fill_price) == (
        State.FILLED,
        Decimal(1000),
        ask,
    )
    assert outcome.trade_id is not None and outcome.stop_loss_id and outcome.take_profit_id
    (trade,) = await venue.trading.open_trades()
    assert trade.id == outcome.trade_id and trade.current_units == 1000
    assert trade.client_extensions is not None and trade.client_extensions.id == "tb-1"
    assert trade.stop_loss_order is not None and trade.stop_loss_order.price == Decimal(stop)
    assert (
        trade.take_profit_order is not None and trade.take_profit_order.id == outcome.take_profit_id
    )
    assert await venue.trading.find("tb-1") == outcome


async def test_closing_the_position_closes_its_trades_and_cancels_their_exits(
    venue: Venue,
) -> None:
    ask = venue.ask()
    first = await venue.trading.place(order("tb-1", stop=str(ask - Decimal("0.01"))))
    await venue.trading.place(order("tb-2", qty="500"))
    (position,) = (await venue.trading.open_positions()).positions
    assert (position.instrument, position.long.units, position.short.units) == (
        "EUR_USD",
        Decimal(1500),
        Decimal(0),
    )
    fill = await venue.trading.close_position(SYMBOL, Side.BUY)
    assert fill is not None and fill.units == -1500 and len(fill.trades_closed) == 2
    assert await venue.trading.open_trades() == []
    assert (await venue.trading.open_positions()).positions == []
    assert venue.book.orders[str(first.stop_loss_id)].state == "CANCELLED"
    assert await venue.trading.close_position(SYMBOL, Side.BUY) is None


async def test_limit_and_stop_orders_rest_until_cancelled(venue: Venue) -> None:
    far = venue.ask() / 2
    pending = await venue.trading.place(order("tb-1", kind=OrderType.LIMIT, price=str(far)))
    stop = await venue.trading.place(order("tb-2", Side.SELL, OrderType.STOP, price=str(far)))
    assert pending.state is State.PENDING and stop.state is State.PENDING
    assert {o.id for o in await venue.trading.pending_orders()} == {
        pending.venue_order_id,
        stop.venue_order_id,
    }
    canceled = await venue.trading.cancel("tb-1")
    assert canceled is not None and canceled.state is State.CANCELED
    assert canceled.reason == "CLIENT_REQUEST"
    again = await venue.trading.cancel("tb-1")  # refused: it is known as cancelled
    assert again is not None and again.state is State.CANCELED
    assert await venue.trading.cancel("tb-9") is None


async def test_a_5xx_after_the_order_was_accepted_is_resolved_by_client_id(
    venue: Venue,
) -> None:
    venue.book.fail_after_accept(502)
    outcome = await venue.trading.place(order("tb-1"))
    assert outcome.state is State.FILLED and outcome.filled_qty == 1000
    assert venue.book.order_requests == 1  # looked up, never sent again
    assert len(venue.book.trades) == 1
    lookups = [r for r in venue.fake.requests if r.path.endswith("/orders/@tb-1")]
    assert len(lookups) == 1


async def test_an_order_that_never_arrived_is_sent_again_once(venue: Venue) -> None:
    venue.fake.fail_rest(503, path="/orders")
    outcome = await venue.trading.place(order("tb-1"))
    assert outcome.state is State.FILLED
    posts = [r for r in venue.fake.requests if r.path.endswith("/orders")]
    assert [p.status for p in posts] == [503, 201]
    assert len(venue.book.trades) == 1


async def test_a_reused_client_id_is_refused(venue: Venue) -> None:
    await venue.trading.place(order("tb-1"))
    with pytest.raises(InvalidOrder, match="CLIENT_ORDER_ID_ALREADY_EXISTS"):
        await venue.trading.place(order("tb-1"))
    assert len(venue.book.trades) == 1


async def test_a_market_order_while_the_market_is_closed_is_cancelled(venue: Venue) -> None:
    await venue.fake.close_market()
    outcome = await venue.trading.place(order("tb-1"))
    assert (outcome.state, outcome.reason) == (State.CANCELED, "MARKET_HALTED")
    assert venue.book.trades == {}


async def test_the_market_reaching_a_stop_or_target_closes_the_trade(venue: Venue) -> None:
    ask = venue.ask()
    stop, target = ask - Decimal("0.002"), ask + Decimal("0.002")
    entry = await venue.trading.place(order("tb-1", stop=str(stop), target=str(target)))
    venue.fake.start_market()
    await venue.fake.finished.wait()
    assert await venue.trading.open_trades() == []
    legs = {venue.book.orders[str(i)].state for i in (entry.stop_loss_id, entry.take_profit_id)}
    assert legs == {"FILLED", "CANCELLED"}  # one closed the trade, the other was cancelled


async def test_a_trade_is_found_by_our_client_id_open_and_closed_with_what_closed_it(
    venue: Venue,
) -> None:
    ask = venue.ask()
    stop, target = ask - Decimal("0.002"), ask + Decimal("0.002")
    entry = await venue.trading.place(order("tb-1", stop=str(stop), target=str(target)))
    opened = await venue.trading.trade("@tb-1")
    assert opened is not None and opened.id == entry.trade_id and opened.state == "OPEN"
    assert opened.stop_loss_order is not None and opened.stop_loss_order.id == entry.stop_loss_id
    assert opened.closing_transaction_ids == []
    venue.fake.start_market()
    await venue.fake.finished.wait()
    closed = await venue.trading.trade("@tb-1")
    assert closed is not None and closed.state == "CLOSED" and closed.current_units == 0
    (closing_id,) = closed.closing_transaction_ids
    fill = await venue.trading.transaction(closing_id)
    assert fill.type == "ORDER_FILL" and fill.units == -1000
    assert fill.reason in ("STOP_LOSS_ORDER", "TAKE_PROFIT_ORDER")
    assert fill.order_id in (entry.stop_loss_id, entry.take_profit_id)
    assert int(await venue.trading.last_transaction_id()) > int(closing_id)  # the twin's cancel
    assert await venue.trading.trade("@tb-2") is None
