"""Live trading on OANDA: orders through `OandaBroker`, fills from `OandaTransactions`, and the
account reconciled with the bot's books before any trading (the app's `LiveVenue`).

Start-up reconciliation follows written rules (`reconcile`), each problem one sentence:
1. Orders open in the database are adopted by the broker and brought up to date from OANDA:
   fills made while the bot was down are booked (once: by fill transaction id, and never for
   an order the database holds as filled), cancels recorded (a stop or target filled while
   down cancelled its twin), and placements of unknown fate looked up (and sent only if OANDA
   never had them). An entry whose stop and target the bot never saw confirmed has its trade
   looked up by the entry's client id: the stop or target that closed it, or a fill that
   reduced it, is booked as the transactions stream would have. The stream then starts from
   the account's last transaction before all this, so nothing that happens meanwhile is lost.
2. An order pending at OANDA under this bot's client id prefix but unknown to its database (a
   crash before the order was saved) is a problem: the bot cannot tell what it was for. Orders
   under other ids are the account owner's own: logged, left alone.
3. The account's net units in the traded instrument must equal the bot's position: anything
   else means trades made or closed outside the bot. What happened at OANDA while the bot was
   reconciling (a stop hit meanwhile) is booked first, up to the transaction the units were
   read at. Cash is not compared: a margin account's balance is not the portfolio's cash
   (which pays for positions in full).
Problems pause new entries (exits and protective orders go on), with the reasons in the pause.
"""

from __future__ import annotations

from collections.abc import Coroutine, Iterable
from typing import Any

import structlog

from trading_bot.core.hub import EventHub
from trading_bot.core.model import ZERO, Instrument, Order
from trading_bot.venues.intent import Persist
from trading_bot.venues.market import Books
from trading_bot.venues.oanda.broker import OandaBroker
from trading_bot.venues.oanda.instruments import venue_name
from trading_bot.venues.oanda.market import OandaMarket
from trading_bot.venues.oanda.trading import OandaTrading
from trading_bot.venues.oanda.transactions import OandaTransactions

log = structlog.get_logger("trading_bot.oanda")


class OandaLive:
    """The trading half of a live OANDA run; `market` (prepared) provides the REST client and
    the instrument's rules."""

    def __init__(self, market: OandaMarket) -> None:
        assert market.instrument is not None, "prepare the market first"
        instrument: Instrument = market.instrument
        self.market = market
        self.settings = market.settings
        self.trading = OandaTrading(market.rest, lambda symbol: instrument)
        self._broker: OandaBroker | None = None
        self._transactions: OandaTransactions | None = None

    def broker(self, hub: EventHub, persist: Persist | None = None) -> OandaBroker:
        """The broker for the pipeline on `hub`, with the account's transactions stream;
        `persist` writes each order down before it leaves."""
        market = self.market
        broker = self._broker = OandaBroker(hub, market.clock, self.trading, persist=persist)
        self._transactions = OandaTransactions(
            hub, market.clock, market.rest, broker.on_transaction
        )
        return broker

    def adopt(self, orders: Iterable[Order]) -> None:
        """The orders the database holds as open, before `reconcile`."""
        assert self._broker is not None, "broker() first"
        self._broker.adopt(orders)

    async def reconcile(self, books: Books, id_prefix: str) -> list[str]:
        """Rules 1-3 of the module docstring; the problems found, for people."""
        assert self._broker is not None and self._transactions is not None, "broker() first"
        if self._transactions.last_id is None:  # the stream resumes from here
            self._transactions.last_id = await self.trading.last_transaction_id()
        await self._broker.reconcile()
        symbol, name = self.market.symbol, venue_name(self.market.symbol)
        problems = []
        for order in await self.trading.pending_orders():
            cid = order.client_extensions.id if order.client_extensions else None
            if cid is None or order.instrument != name:
                continue
            if cid.startswith(id_prefix) and not self._broker.knows(cid):
                problems.append(
                    f"order {cid} ({order.type} {order.units} {symbol}) is pending at OANDA "
                    "under this bot's ids but unknown to its database: cancel it at OANDA"
                )
            elif not cid.startswith(id_prefix):
                log.info("oanda order not the bot's; left alone", order=cid)
        account = await self.trading.open_positions()
        await self._transactions.catch_up(account.last_transaction_id)  # books as of then
        held = sum(
            (p.long.units + p.short.units for p in account.positions if p.instrument == name),
            ZERO,
        )
        position = books.position(symbol)
        ours = ZERO if position is None else position.qty
        if held != ours:
            problems.append(
                f"OANDA holds {held:f} units of {symbol} net, but the bot's books hold {ours:f}: "
                "were trades opened or closed outside the bot?"
            )
        log.info(
            "oanda account reconciled", held=str(held), books=str(ours), problems=len(problems)
        )
        return problems

    def tasks(self) -> dict[str, Coroutine[Any, Any, None]]:
        """The background work of a live run: the broker's worker and the transactions."""
        assert self._broker is not None and self._transactions is not None, "broker() first"
        return {"oanda-broker": self._broker.run(), "oanda-transactions": self._transactions.run()}

    async def drain(self) -> None:
        """Carry out the commands already queued (exits at shutdown), then let the worker end."""
        if self._broker is not None:
            await self._broker.join()
            self._broker.stop()

    def describe(self) -> str:
        s = self.settings
        return f"LIVE orders on OANDA {s.environment}, account {s.account_id} ({s.rest_url})"
