"""kill -9 at random points of the order flow, again and again, against the fake venues: after
every restart no order was sent twice, none is lost, the database is intact, and at the end the
books agree with the venue."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from trading_bot.core.model import OrderStatus
from trading_bot.data.files import load_candles
from trading_bot.storage import Database, StateStore
from trading_bot.testing.fake_binance import LOT_STEP, FakeBinance, relabel
from trading_bot.testing.fake_binance_trading import FakeBinanceTrading

from .crash import KillLoop
from .test_binance_live import CASH, SECOND, START, live_config, total, venue_env

KILLS = 50


async def test_kill_9_again_and_again_loses_and_doubles_no_order_on_binance(
    tmp_path: Path, shared_data: Path
) -> None:
    real = load_candles(shared_data / "binance-BTCUSDT-5m.csv.gz").iloc[:4000]
    frame = relabel(real, SECOND, START)
    # a 1 s candle every 0.2 s: Binance's usual 5 s recvWindow is 1 s of the test's time
    fake = FakeBinance({"BTC/USDT": frame}, "1s", pace_s=0.05)
    venue = FakeBinanceTrading(fake, balances={"USDT": CASH, "BTC": Decimal(0)})
    config = live_config(tmp_path, fast=2, slow=5)  # orders all the time: kills land among them
    async with venue:
        env = {**venue_env(venue), "TRADING_BOT_BINANCE__RECV_WINDOW_MS": "5000"}
        async with KillLoop(config, tmp_path, env) as crashes:
            await crashes.run(KILLS)
            fake.pause_market()  # the last run settles with the market still
            await crashes.settled()
            assert crashes.stop() == 0
    store = StateStore(Database(f"sqlite:///{crashes.database}"))
    orders = {o.client_order_id: o for o in store.load_orders(open_only=False)}
    at_venue = [o.client_order_id for o in venue.orders]
    assert len(at_venue) == len(set(at_venue)), "an order was sent twice"
    assert set(at_venue) <= set(orders), "an order at Binance is unknown to the bot"
    for cid, order in orders.items():  # known to the bot: at Binance as it says, or never sent
        copies = venue.orders_with_id(cid)
        if order.status is OrderStatus.REJECTED or (
            order.status is OrderStatus.CANCELED and not copies
        ):
            continue
        (copy,) = copies
        assert copy.executed == order.filled_qty, cid
    open_here = {cid for cid, o in orders.items() if o.status.is_open}
    assert open_here == {o.client_order_id for o in venue.working_orders()}
    state = store.get_state("portfolio")
    assert state is not None and Decimal(state["cash"]) == total(venue, "USDT")
    positions = {p.symbol: p.qty for p in store.load_positions()}
    dust = total(venue, "BTC") - positions.get("BTC/USDT", Decimal(0))
    assert Decimal(0) <= dust < LOT_STEP * len(venue.orders)
    assert len(orders) > KILLS  # the kills really fell among orders
