"""kill -9 at random points of the order flow against the fake OANDA, again and again, while its
market goes on (stops and targets fill while the bot is down): after every restart no order was
sent twice, none is lost, the database is intact, and at the end the books agree with OANDA
without a pause."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pandas as pd

from trading_bot.core.model import Order, OrderRole, OrderStatus
from trading_bot.storage import Database, StateStore
from trading_bot.testing.fake_oanda import FakeOanda
from trading_bot.testing.fake_oanda_trading import FakeOandaTrading

from .crash import KillLoop
from .test_oanda_commands import fives, oanda_env
from .test_oanda_live import live_config

KILLS = 50
LEGS = (OrderRole.STOP_LOSS, OrderRole.TAKE_PROFIT)
ENDED = {OrderStatus.CANCELED, OrderStatus.REJECTED}  # a MARKET order OANDA cancels is rejected
# OANDA's state of an order (None: OANDA never had it) -> the bot's states that agree with it
AGREES = {"PENDING": {OrderStatus.ACCEPTED}, "FILLED": {OrderStatus.FILLED}, "CANCELLED": ENDED}


async def test_kill_9_again_and_again_loses_and_doubles_no_order_on_oanda(
    tmp_path: Path, shared_data: Path
) -> None:
    # a 5 s candle every 0.2 s, for longer than the kills take
    market = {"EUR/USD": _wilder(fives(shared_data, 3000), 4)}
    fake = FakeOanda(market, pace_s=0.05, heartbeat_s=0.05)
    book = FakeOandaTrading(fake)
    config = live_config(tmp_path, fast=2, slow=5)  # orders all the time: kills land among them
    async with fake:
        # logs in the test's folder, as live_config says
        env = {k: v for k, v in oanda_env(fake).items() if "_LOGGING__" not in k}
        async with KillLoop(config, tmp_path, env) as crashes:
            await crashes.run(KILLS)
            await fake.close_market()  # the last run settles with the market closed
            await crashes.settled()
            assert crashes.stop() == 0
    store = StateStore(Database(f"sqlite:///{crashes.database}"))
    orders = {o.client_order_id: o for o in store.load_orders(open_only=False)}
    assert book.posts and max(book.posts.values()) == 1, "an order was sent twice"
    assert set(book.posts) <= set(orders), "an order at OANDA is unknown to the bot"
    for cid, order in orders.items():  # known to the bot: at OANDA as it says, or never there
        state, units = _at_oanda(book, order)
        assert order.filled_qty == units, cid
        if order.role in LEGS and state == "FILLED" and order.qty > units:
            # its entry first closed an opposite trade: OANDA's stop (or target) closed the
            # smaller trade it made, and the rest of the leg was cancelled
            assert order.status is OrderStatus.CANCELED, cid
        else:
            assert order.status in AGREES.get(state or "", ENDED), (cid, order.status, state)
    open_here = {o.venue_order_id for o in orders.values() if o.status.is_open}
    assert open_here == {i for i, o in book.orders.items() if o.state == "PENDING"}
    positions = {p.symbol: p.qty for p in store.load_positions()}
    assert positions.get("EUR/USD", Decimal(0)) == book.position_units("EUR_USD")
    risk = store.get_state("risk")
    assert risk is not None and not risk["paused"], risk
    output = crashes.output.read_text()
    assert "reconciliation problem" not in output  # not at the end, nor at any restart
    # stops and targets closed trades, some while the bot was down or before it saw them
    assert {o.role for o in orders.values() if o.filled_qty} >= set(LEGS)
    assert "oanda trade looked up" in output and "state=CLOSED" in output
    assert len(orders) > KILLS  # the kills really fell among orders


def _at_oanda(book: FakeOandaTrading, order: Order) -> tuple[str | None, Decimal]:
    """The state of `order` at OANDA (None: OANDA never had it) and the units it filled. An
    exit leg is the trade's own dependent order, found by OANDA's id; the others by ours."""
    if order.role in LEGS:
        copy = None if order.venue_order_id is None else book.orders.get(order.venue_order_id)
    else:
        copy = book.order_with_id(order.client_order_id)
    if copy is None:
        return None, Decimal(0)
    fill = book.transactions.get(copy.filling_transaction_id or "", {})
    return copy.state, abs(Decimal(fill.get("units", 0)))


def _wilder(frame: pd.DataFrame, times: int) -> pd.DataFrame:
    """The candles with their moves `times` as large (prices stay positive and in order), so
    that stops and targets a few candles' moves away are reached, often while the bot is
    down."""
    prices = ["open", "high", "low", "close"]
    first = frame["open"].iloc[0]
    return frame.assign(**{c: (first * (frame[c] / first) ** times).round(5) for c in prices})
