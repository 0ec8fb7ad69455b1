"""Live trading through the real command against the fake Binance on loopback: orders placed
once each, brackets as OCOs, the books equal to the account, and a restart that books what
happened while the bot was down."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest

from trading_bot.core.model import OrderRole, OrderStatus
from trading_bot.data.files import load_candles
from trading_bot.storage import Database, StateStore
from trading_bot.testing.fake_binance import LOT_STEP, FakeBinance, relabel
from trading_bot.testing.fake_binance_trading import FakeBinanceTrading

from .botprocess import STARTED, BotProcess, files_in

SECOND = 1_000
START = 1_700_000_040_000
STRATEGY = Path(__file__).with_name("bracketed_cross.py")
CASH = Decimal(10_000)
# The fake's clock runs at market speed: a 1 s candle every 4 updates, so 50 times the wall
# clock here. Signed requests carry Binance's widest recvWindow (60 s of the fake's time,
# 1.2 s of ours): room enough for a slow request on a busy machine.
PACE_S = 0.005


def live_config(tmp: Path, fast: int = 5, slow: int = 20) -> Path:
    path = tmp / "live.toml"
    path.write_text(
        f"""
[bot]
mode = "live"
venue = "binance"

[binance]
symbol = "BTC/USDT"
timeframe = "1s"
settle_s = 0
recv_window_ms = 60000  # see PACE_S

[risk]
allow_short = false
max_signal_age_s = 0  # the fake's candles are from 2023
risk_per_trade_pct = 0.2  # half the equity per position: market buys need room

[portfolio]
starting_cash = {CASH}

[strategy]
name = "{STRATEGY}:BracketedCross"
params = {{ fast = {fast}, slow = {slow} }}
{files_in(tmp)}"""
    )
    return path


def venue_env(venue: FakeBinanceTrading) -> dict[str, str]:
    fake = venue.fake
    return {
        "TRADING_BOT_BINANCE__REST_URL": fake.rest_url,
        "TRADING_BOT_BINANCE__WS_URL": fake.ws_url,
        "TRADING_BOT_BINANCE__WS_API_URL": f"{fake.ws_url}/ws-api/v3",
        "TRADING_BOT_BINANCE__API_KEY": venue.api_key,
        "TRADING_BOT_BINANCE__API_SECRET": venue.secret,
    }


def when(fake: FakeBinance, condition: Callable[[], bool], *, pause: bool = False) -> asyncio.Event:
    """An event set at the first market update after which `condition` holds; with `pause`,
    the market holds there until resumed."""
    reached = asyncio.Event()

    def check(*_: object) -> None:
        if not reached.is_set() and condition():
            reached.set()
            if pause:
                fake.pause_market()

    fake.price_listeners.append(check)
    return reached


@pytest.fixture
def frame(shared_data: Path) -> pd.DataFrame:
    real = load_candles(shared_data / "binance-BTCUSDT-5m.csv.gz").iloc[:450]
    return relabel(real, SECOND, START)  # real prices, as one-second klines


def total(venue: FakeBinanceTrading, asset: str) -> Decimal:
    return venue.free(asset) + venue.locked.get(asset, Decimal(0))


async def test_live_run_places_each_order_once_and_its_books_equal_the_account(
    tmp_path: Path, frame: pd.DataFrame
) -> None:
    fake = FakeBinance({"BTC/USDT": frame}, "1s", pace_s=PACE_S)
    venue = FakeBinanceTrading(fake, balances={"USDT": CASH, "BTC": Decimal(0)})
    async with venue:
        bot = await BotProcess.start(live_config(tmp_path), tmp_path, **venue_env(venue))
        await bot.wait_for(STARTED)
        assert "LIVE orders on Binance spot" in bot.output
        async with asyncio.timeout(60):
            await fake.finished.wait()
        assert await bot.stop() == 0

    store = StateStore(Database(f"sqlite:///{tmp_path}/bot.sqlite"))
    orders = store.load_orders(open_only=False)
    assert len([o for o in orders if o.role is OrderRole.ENTRY]) >= 5
    refused = [o for o in orders if o.status is OrderStatus.REJECTED]
    for order in orders:  # placed exactly once (a refused one never), and agreed on
        copies = venue.orders_with_id(order.client_order_id)
        assert len(copies) == (order not in refused), order.client_order_id
        assert sum(c.executed for c in copies) == order.filled_qty, order.client_order_id
    assert len(venue.orders) == len(orders) - len(refused)
    assert venue.order_lists, "brackets go as OCO order lists"
    assert {t.exit_reason for t in store.load_trades()} >= {"take_profit", "stop_loss"}
    # no entry was refused; an exit may race a bracket leg that has just filled, and a bracket
    # whose price has moved past a leg (Binance refuses the OCO) is closed at market at once
    assert OrderRole.ENTRY not in {o.role for o in refused}
    for stop in (o for o in refused if o.role is OrderRole.STOP_LOSS):
        assert any(
            o.role is OrderRole.EXIT
            and o.parent_id == stop.parent_id
            and "stop-loss refused" in o.reason
            for o in orders
        ), stop.client_order_id

    # the books equal the account: cash to the cent, the position up to the unsellable dust
    state = store.get_state("portfolio")
    assert state is not None and Decimal(state["cash"]) == total(venue, "USDT")
    positions = {p.symbol: p.qty for p in store.load_positions()}
    dust = total(venue, "BTC") - positions.get("BTC/USDT", Decimal(0))
    buys = sum(1 for o in venue.orders if o.side == "BUY" and o.executed)
    assert Decimal(0) <= dust < LOT_STEP * buys
    fills = store.load_fills()
    assert all(f.fee_qty > 0 for f in fills if f.side.value == "buy")


async def test_a_restart_books_the_bracket_that_filled_while_the_bot_was_down(
    tmp_path: Path, frame: pd.DataFrame
) -> None:
    fake = FakeBinance({"BTC/USDT": frame}, "1s", pace_s=PACE_S)
    venue = FakeBinanceTrading(fake, balances={"USDT": CASH, "BTC": Decimal(0)})
    config = live_config(tmp_path)
    async with venue:
        bracketed = when(fake, lambda: len(venue.working_orders()) == 2, pause=True)
        bot = await BotProcess.start(config, tmp_path, **venue_env(venue))
        await bot.wait_for(STARTED)
        async with asyncio.timeout(60):
            await bracketed.wait()  # a position is open, its stop and target rest at Binance
        assert await bot.stop() == 0
        legs = [o.client_order_id for o in venue.working_orders()]
        assert len(legs) == 2
        store = StateStore(Database(f"sqlite:///{tmp_path}/bot.sqlite"))
        assert {o.client_order_id for o in store.load_orders()} == set(legs)
        ended = when(fake, lambda: all(not o.working for o in venue.orders), pause=True)
        fake.resume_market()
        async with asyncio.timeout(60):
            await ended.wait()  # one leg filled while the bot was down; the other expired

        bot = await BotProcess.start(config, tmp_path, **venue_env(venue))
        await bot.wait_for(STARTED)
        assert "PAUSED" not in bot.output  # the reconciliation found nothing wrong
        assert await bot.stop() == 0

    by_id = {o.client_order_id: o for o in store.load_orders(open_only=False)}
    assert {by_id[cid].status for cid in legs} == {OrderStatus.FILLED, OrderStatus.CANCELED}
    exits = [f for f in store.load_fills() if f.client_order_id in legs]
    assert len(exits) == 1  # booked once
    state = store.get_state("portfolio")
    assert state is not None and Decimal(state["cash"]) == total(venue, "USDT")
