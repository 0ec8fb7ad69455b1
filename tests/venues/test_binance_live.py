"""Going live on Binance: the key is checked before anything trades, and the start-up
reconciliation names each disagreement between the account and the bot's books."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from decimal import Decimal

import pandas as pd
import pytest

from tests.venues.conftest import FAST, SYMBOL
from tests.venues.trading_harness import fake_venue
from trading_bot.core.hub import EventHub
from trading_bot.core.model import Position, Side
from trading_bot.testing.fake_binance_trading import FakeBinanceTrading
from trading_bot.venues.binance.live import BinanceLive
from trading_bot.venues.binance.market import BinanceMarket
from trading_bot.venues.binance.safety import UnsafeApiKey
from trading_bot.venues.binance.trading import OrderSpec, VenueOrderType
from trading_bot.venues.errors import AuthError
from trading_bot.venues.market import Books

LIMIT = VenueOrderType.LIMIT


@dataclass
class BooksAt:
    cash: Decimal
    positions: dict[str, Position] = field(default_factory=dict)

    def position(self, symbol: str) -> Position | None:
        return self.positions.get(symbol)

    def open_positions(self) -> list[Position]:
        return [p for p in self.positions.values() if p.is_open]


@pytest.fixture
async def venue(btc_5m: pd.DataFrame) -> AsyncIterator[FakeBinanceTrading]:
    async with fake_venue(btc_5m.iloc[:100]) as venue:
        venue.balances = {"USDT": Decimal(5_000), "BTC": Decimal("0.5")}
        yield venue


async def connect(venue: FakeBinanceTrading, **settings: object) -> BinanceLive:
    options = {"api_key": venue.api_key, "api_secret": venue.secret, **FAST, **settings}
    market = BinanceMarket(venue.fake.settings(**options))
    try:
        await market.prepare(market.settings.model_copy())  # type: ignore[arg-type]
        live = await BinanceLive.connect(market)
    except BaseException:
        await market.close()
        raise
    live.broker(EventHub())
    return live


async def reconcile(live: BinanceLive, books: Books) -> list[str]:
    try:
        return await live.reconcile(books, "tb-")
    finally:
        await live.market.close()


async def test_a_key_that_may_withdraw_is_refused_unless_allowed(
    venue: FakeBinanceTrading,
) -> None:
    venue.withdrawals_enabled = True
    with pytest.raises(UnsafeApiKey, match="Enable Withdrawals"):
        await connect(venue)
    live = await connect(venue, allow_withdrawals=True)
    await live.market.close()


async def test_a_wrong_secret_is_refused_before_trading(venue: FakeBinanceTrading) -> None:
    with pytest.raises(AuthError):
        await connect(venue, api_secret="not the secret")


async def test_books_that_agree_with_the_account_reconcile_cleanly(
    venue: FakeBinanceTrading,
) -> None:
    live = await connect(venue)
    books = BooksAt(Decimal(5_000), {SYMBOL: Position(SYMBOL, Decimal("0.5"))})
    assert await reconcile(live, books) == []


async def test_every_symbol_held_is_reconciled(venue: FakeBinanceTrading) -> None:
    """A dynamic universe holds other symbols than the configured one: each is checked."""
    live = await connect(venue)
    held = {SYMBOL: Position(SYMBOL, Decimal("0.5")), "ETH/USDT": Position("ETH/USDT", Decimal(2))}
    problems = await reconcile(live, BooksAt(Decimal(5_000), held))
    assert problems == [
        "the books hold ETH/USDT, which Binance does not list now: close it by hand"
    ]


async def test_each_disagreement_is_named(venue: FakeBinanceTrading) -> None:
    live = await connect(venue)
    for cid in ("tb-99", "my-own-order"):  # resting far below the market
        spec = OrderSpec(
            SYMBOL, Side.BUY, VenueOrderType.LIMIT, Decimal("0.01"), cid, Decimal(9000)
        )
        await live.trading.place(spec)
    books = BooksAt(Decimal(6_000), {SYMBOL: Position(SYMBOL, Decimal("0.7"))})
    problems = await reconcile(live, books)
    assert len(problems) == 3, problems
    unknown, base, quote = problems
    assert "tb-99" in unknown and "unknown to its database" in unknown  # ours, but lost
    assert "0.5 BTC" in base and "0.7" in base
    assert "USDT" in quote and "6000.00" in quote
