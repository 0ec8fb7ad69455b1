"""The dynamic universe trading live, through the real command against the fake Binance: the
ranked symbol is traded beside the configured one, each order placed once, and the books of
both symbols equal the account, also after a restart's reconciliation."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path

import pandas as pd

from trading_bot.data.files import load_candles
from trading_bot.storage import Database, StateStore
from trading_bot.testing.fake_binance import LOT_STEP, FakeBinance, relabel
from trading_bot.testing.fake_binance_tickers import FakeBinanceTickers
from trading_bot.testing.fake_binance_trading import FakeBinanceTrading

from .botprocess import STARTED, BotProcess
from .test_binance_live import CASH, PACE_S, SECOND, START, live_config, total, venue_env

UNIVERSE = {
    "TRADING_BOT_SERVICES__UNIVERSE__ENABLED": "true",
    "TRADING_BOT_SERVICES__UNIVERSE__TOP_N": "1",
    "TRADING_BOT_SERVICES__UNIVERSE__MAX_SPREAD_PCT": "0.5",
}


def markets(shared_data: Path, candles: int = 450) -> dict[str, pd.DataFrame]:
    """BTC, the configured symbol, barely trades: the ranking picks ETH."""
    btc = load_candles(shared_data / "binance-BTCUSDT-5m.csv.gz").iloc[:candles]
    eth = load_candles(shared_data / "binance-ETHUSDT-5m.csv.gz").iloc[:candles]
    btc = btc.assign(volume=0.001)
    return {"BTC/USDT": relabel(btc, SECOND, START), "ETH/USDT": relabel(eth, SECOND, START)}


async def test_live_universe_trades_the_pick_and_keeps_the_books_equal_to_the_account(
    tmp_path: Path, shared_data: Path
) -> None:
    frames = markets(shared_data)
    fake = FakeBinance(frames, "1s", pace_s=PACE_S)
    FakeBinanceTickers(fake, frames)
    venue = FakeBinanceTrading(fake, balances={"USDT": CASH})
    config = live_config(tmp_path)
    async with venue:
        env = {**venue_env(venue), **UNIVERSE}  # the fake's ports, now that it listens
        halfway = asyncio.Event()
        fake.price_listeners.append(
            lambda *_: halfway.set() if fake.clock.now_ms() > START + 200 * SECOND else None
        )
        bot = await BotProcess.start(config, tmp_path, **env)
        await bot.wait_for(STARTED)
        async with asyncio.timeout(60):
            await halfway.wait()
        assert await bot.stop() == 0  # a restart in the middle: reconciled over both symbols
        bot = await BotProcess.start(config, tmp_path, **env)
        await bot.wait_for(STARTED)
        assert "PAUSED" not in bot.output
        async with asyncio.timeout(60):
            await fake.finished.wait()
        assert await bot.stop() == 0

    store = StateStore(Database(f"sqlite:///{tmp_path}/bot.sqlite"))
    orders = store.load_orders(open_only=False)
    assert {o.symbol for o in orders} >= {"ETH/USDT"}
    for order in orders:  # each placed once at most, and agreed on
        copies = venue.orders_with_id(order.client_order_id)
        assert len(copies) <= 1, order.client_order_id
        assert sum(c.executed for c in copies) == order.filled_qty, order.client_order_id
    state = store.get_state("portfolio")
    assert state is not None and Decimal(state["cash"]) == total(venue, "USDT")
    positions = {p.symbol: p.qty for p in store.load_positions()}
    for symbol in ("BTC/USDT", "ETH/USDT"):
        base = symbol.partition("/")[0]
        buys = sum(1 for o in venue.orders if o.side == "BUY" and o.executed)
        dust = total(venue, base) - positions.get(symbol, Decimal(0))
        assert Decimal(0) <= dust < LOT_STEP * max(buys, 1), symbol
