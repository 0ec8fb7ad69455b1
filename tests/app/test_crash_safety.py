"""kill -9 at random points of the order flow, again and again, against the fake venues: after
every restart no order was sent twice, none is lost, the database is intact, and at the end the
books agree with the venue."""

from __future__ import annotations

import asyncio
import random
from decimal import Decimal
from pathlib import Path

from tests.test_systemd import NotifySocket
from trading_bot.core.model import OrderStatus
from trading_bot.data.files import load_candles
from trading_bot.storage import Database, StateStore
from trading_bot.testing.fake_binance import LOT_STEP, FakeBinance, relabel
from trading_bot.testing.fake_binance_trading import FakeBinanceTrading

from .crash import integrity, kill, start_bot
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
    database = tmp_path / "bot.sqlite"
    systemd = NotifySocket(tmp_path / "notify.sock")
    chance = random.Random(7)
    bot = None
    try:
        async with venue:
            env = {
                **venue_env(venue),
                "NOTIFY_SOCKET": str(systemd.path),
                "TRADING_BOT_BINANCE__RECV_WINDOW_MS": "5000",
            }
            for run in range(KILLS + 1):
                ready = _readiness(systemd)
                bot = start_bot(config, tmp_path, env, tmp_path / "bot.out")
                await _wait_ready(systemd, ready)
                if run == KILLS:
                    break
                await asyncio.sleep(chance.uniform(0.1, 1.2))  # somewhere in the order flow
                kill(bot)
                assert integrity(database) == "ok", f"after kill {run + 1}"
            fake.pause_market()  # the last run settles with the market still
            await _settled(database)
            bot.terminate()  # SIGTERM: a clean stop, its state saved
            bot.join(10)
            assert bot.exitcode == 0
    finally:
        if bot is not None and bot.is_alive():  # a failed test leaves no bot behind
            kill(bot)
        systemd.close()
    output = (tmp_path / "bot.out").read_text()
    assert output.count("Running.") == KILLS + 1
    store = StateStore(Database(f"sqlite:///{database}"))
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


async def _settled(database: Path, timeout_s: float = 30.0) -> None:
    """Until the running bot has learned the fate of every order the kills left unconfirmed
    (it writes them to the database; no event reaches this test from the other process)."""
    store = StateStore(Database(f"sqlite:///{database}"))
    async with asyncio.timeout(timeout_s):
        while any(o.status is OrderStatus.SUBMITTED for o in store.load_orders()):
            await asyncio.sleep(0.25)


def _readiness(systemd: NotifySocket) -> int:
    return sum("READY=1" in text for _, text in systemd.messages)


async def _wait_ready(systemd: NotifySocket, before: int) -> None:
    await systemd.wait_until(lambda: _readiness(systemd) > before)
