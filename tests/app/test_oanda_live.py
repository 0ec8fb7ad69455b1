"""Live trading on OANDA through the real command against the fake OANDA: every order placed
once under our client ids, brackets made by OANDA on the fills, and the books equal to the
account's positions at the end."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path

from trading_bot.core.model import OrderRole, OrderStatus
from trading_bot.storage import Database, StateStore
from trading_bot.testing.fake_oanda import FakeOanda
from trading_bot.testing.fake_oanda_trading import FakeOandaTrading

from .botprocess import STARTED, BotProcess, files_in
from .test_oanda_commands import fives, oanda_env

STRATEGY = Path(__file__).with_name("bracketed_cross.py")


def live_config(tmp: Path, fast: int = 5, slow: int = 20) -> Path:
    path = tmp / "live.toml"
    path.write_text(
        f"""
[bot]
mode = "live"
venue = "oanda"

[risk]
max_signal_age_s = 0  # the fake's candles are from 2023
position_size_pct = 50

[strategy]
name = "{STRATEGY}:BracketedCross"
params = {{ fast = {fast}, slow = {slow} }}
{files_in(tmp)}"""
    )
    return path


async def test_live_run_on_oanda_places_each_order_once_and_its_books_equal_the_account(
    tmp_path: Path, shared_data: Path
) -> None:
    source = fives(shared_data, 500)
    fake = FakeOanda({"EUR/USD": source}, pace_s=0.004, heartbeat_s=0.05)
    book = FakeOandaTrading(fake)
    async with fake:
        bot = await BotProcess.start(live_config(tmp_path), tmp_path, **_env(fake))
        await bot.wait_for(STARTED)
        assert "OANDA practice" in bot.output
        async with asyncio.timeout(60):
            await fake.finished.wait()
        assert await bot.stop() == 0

    store = StateStore(Database(f"sqlite:///{tmp_path}/bot.sqlite"))
    orders = store.load_orders(open_only=False)
    entries = [o for o in orders if o.role is OrderRole.ENTRY and o.status is OrderStatus.FILLED]
    assert len(entries) >= 5
    for order in entries:  # each once at OANDA, under our client id, filled as we booked
        assert order.client_order_id in book._by_client, order.client_order_id
    assert book.order_requests == len(
        {o.client_order_id for o in orders if o.role in (OrderRole.ENTRY, OrderRole.EXIT)}
    )  # stops and targets were never sent: OANDA made them
    exits = {t.exit_reason for t in store.load_trades()}
    assert exits & {"stop_loss", "take_profit"}  # brackets closed trades at the venue
    positions = {p.symbol: p.qty for p in store.load_positions()}
    assert positions.get("EUR/USD", Decimal(0)) == book.position_units("EUR_USD")


def _env(fake: FakeOanda) -> dict[str, str]:
    env = oanda_env(fake)
    env.pop("TRADING_BOT_LOGGING__FILE")
    env.pop("TRADING_BOT_LOGGING__AUDIT_FILE")
    return env
