"""Live trading on Binance spot: the key checked, orders through `BinanceBroker`, order updates
from `BinanceUserData`, and the account reconciled with the bot's books before any trading.

Start-up reconciliation follows written rules (`reconcile`), each problem one sentence:
1. Orders open in the database are adopted by the broker and brought up to date from Binance:
   fills made while the bot was down are booked (once: by trade id), cancels and expiries
   recorded, and placements of unknown fate looked up (and sent only if Binance never had them).
2. An order open at Binance (on any symbol) under this bot's client id prefix, but unknown
   to its database (a crash before the order was saved), is a problem: the bot cannot tell what
   it was for. Orders under other ids are the account owner's own: logged, left alone.
3. The account must hold at least the bot's long position of each symbol in its base asset
   (less one lot step of dust), and at least the bot's cash in the quote asset: a bot that
   believes it owns more than the account holds would size orders Binance refuses, or sell
   what is not its own.
Problems pause new entries (exits and protective orders go on), with the reasons in the pause;
people fix the account or the books and resume (or restart: a clean reconciliation lifts a pause
that an earlier one set).
"""

from __future__ import annotations

from collections.abc import Coroutine, Iterable
from decimal import Decimal
from typing import Any

import structlog

from trading_bot.core.hub import EventHub
from trading_bot.core.model import ZERO, Order
from trading_bot.venues.binance.broker import BinanceBroker
from trading_bot.venues.binance.config import BinanceSettings
from trading_bot.venues.binance.market import BinanceMarket
from trading_bot.venues.binance.markets import Markets
from trading_bot.venues.binance.rest import ApiCredentials
from trading_bot.venues.binance.safety import check_api_key
from trading_bot.venues.binance.schemas import AccountInfo, AssetBalance
from trading_bot.venues.binance.trading import BinanceTrading
from trading_bot.venues.binance.user_data import BinanceUserData
from trading_bot.venues.errors import AuthError
from trading_bot.venues.intent import Persist
from trading_bot.venues.market import Books

log = structlog.get_logger("trading_bot.binance")


def credentials_from(settings: BinanceSettings) -> ApiCredentials:
    """The API key pair of `[binance]`; AuthError names the missing key."""
    missing = [
        f"binance.{name}"
        for name in ("api_key", "api_secret")
        if getattr(settings, name) is None or not getattr(settings, name).get_secret_value()
    ]
    if missing:
        raise AuthError(
            f"live trading on Binance needs {' and '.join(missing)}: set "
            "TRADING_BOT_BINANCE__API_KEY and TRADING_BOT_BINANCE__API_SECRET, or "
            "api_key_file and api_secret_file in [binance]"
        )
    assert settings.api_key is not None and settings.api_secret is not None
    return ApiCredentials(
        settings.api_key.get_secret_value(), settings.api_secret.get_secret_value()
    )


class BinanceLive:
    """The trading half of a live Binance run; `market` (prepared) provides the REST client."""

    def __init__(self, market: BinanceMarket, trading: BinanceTrading, markets: Markets) -> None:
        self.market = market
        self.settings = market.settings
        self.trading = trading
        self.markets = markets
        self._broker: BinanceBroker | None = None
        self._user_data: BinanceUserData | None = None

    @classmethod
    async def connect(cls, market: BinanceMarket) -> BinanceLive:
        """Check the key (AuthError when it is missing, wrong, or may withdraw)."""
        settings = market.settings
        assert market.markets is not None, "prepare the market first"
        market.rest.credentials = credentials_from(settings)
        trading = BinanceTrading(market.rest, market.markets)
        if settings.testnet:  # the spot testnet serves no /sapi endpoints
            log.info("binance testnet: the key's restrictions are not checked")
        else:
            await check_api_key(trading, allow_withdrawals=settings.allow_withdrawals)
        account = await trading.account()
        if not account.can_trade:
            raise AuthError("Binance says this account cannot trade (canTrade is false)")
        return cls(market, trading, market.markets)

    def broker(self, hub: EventHub, persist: Persist | None = None) -> BinanceBroker:
        """The broker for the pipeline on `hub`, with its user data stream; `persist` writes
        each order down before it leaves."""
        market = self.market
        broker = self._broker = BinanceBroker(
            hub,
            market.clock,
            self.trading,
            self.markets,
            stop_limit_ticks=self.settings.stop_limit_ticks,
            use_oco=self.settings.use_oco,
            max_entry_delay_s=self.settings.max_rate_wait_s,
            persist=persist,
        )
        self._user_data = BinanceUserData(
            hub,
            market.clock,
            market.rest,
            self.settings,
            broker.on_execution_report,
            broker.reconcile,
        )
        return broker

    def adopt(self, orders: Iterable[Order]) -> None:
        """The orders the database holds as open, before `reconcile`."""
        assert self._broker is not None, "broker() first"
        self._broker.adopt(orders)

    async def reconcile(self, books: Books, id_prefix: str) -> list[str]:
        """Rules 1-3 of the module docstring, for the traded symbol and every symbol the books
        hold; the problems found, for people."""
        assert self._broker is not None, "broker() first"
        await self._broker.reconcile()
        problems = [
            f"order {o.our_id} ({o.side} {o.orig_qty} {self.markets.symbol(o.symbol)}) is open "
            "at Binance under this bot's ids but unknown to its database: cancel it at Binance, "
            "or close it by hand"
            for o in await self.trading.open_orders()  # every symbol: one request
            if o.our_id.startswith(id_prefix) and not self._broker.knows(o.our_id)
        ]
        account = await self.trading.account()
        open_positions = books.open_positions()
        for symbol in dict.fromkeys([self.market.symbol, *(p.symbol for p in open_positions)]):
            problems += self._check_position(books, account, symbol)
        quote = self.market.symbol.partition("/")[2]
        quote_total = _total(account.balance(quote))
        if quote_total < books.cash:
            problems.append(
                f"the account holds {quote_total:f} {quote}, less than the bot's cash "
                f"{books.cash:.2f}: lower portfolio.starting_cash (first start) or add funds"
            )
        log.info(
            "binance account reconciled",
            quote=f"{quote_total} {quote}",
            positions={p.symbol: str(p.qty) for p in open_positions},
            problems=len(problems),
        )
        return problems

    def _check_position(self, books: Books, account: AccountInfo, symbol: str) -> list[str]:
        """Rule 3 for one symbol's base asset."""
        try:
            instrument = self.markets.instrument(symbol)
        except ValueError:
            return [f"the books hold {symbol}, which Binance does not list now: close it by hand"]
        base = symbol.partition("/")[0]
        position = books.position(symbol)
        held = ZERO if position is None else position.qty
        base_total = _total(account.balance(base))
        if held > ZERO and base_total < held - instrument.lot_step:
            return [
                f"the account holds {base_total:f} {base}, but the bot's books hold a position "
                f"of {held} {symbol}: was it sold outside the bot?"
            ]
        if held < ZERO:
            return [f"the books hold a short position of {held} {base}; spot cannot"]
        return []

    def tasks(self) -> dict[str, Coroutine[Any, Any, None]]:
        """The background work of a live run: the broker's worker and the order updates."""
        assert self._broker is not None and self._user_data is not None, "broker() first"
        return {"binance-broker": self._broker.run(), "binance-user-data": self._user_data.run()}

    async def drain(self) -> None:
        """Carry out the commands already queued (exits at shutdown), then let the worker end."""
        if self._broker is not None:
            await self._broker.join()
            self._broker.stop()

    def describe(self) -> str:
        where = "the Binance spot testnet" if self.settings.testnet else "Binance spot"
        return f"LIVE orders on {where} ({self.settings.rest_url})"


def _total(balance: AssetBalance) -> Decimal:
    """Free and locked: what the account holds (0.5, not 0.50000000, when shown)."""
    return (balance.free + balance.locked).normalize()
