"""The account's transactions as they happen: fills, stops and targets hit, cancels.

`OandaTransactions.run()` keeps the transactions stream (`GET transactions/stream`) open and
hands every transaction, in order and once, to `handle` (the broker's `on_transaction`). After
every (re)connection, what happened while it was down comes first from
`GET transactions/sinceid?id=<the last one handled>` (`catch_up`, which the start-up
reconciliation also calls before it compares the books); the stream's heartbeats carry the
latest id, so a gap is noticed even on a quiet account. Reconnections back off with jitter, and
troubles become FEED_STALE / FEED_RESTORED like a market feed's. Only a configuration that
cannot work (a refused token or account) ends `run()`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import aiohttp
import structlog

from trading_bot.core.clock import Clock
from trading_bot.core.hub import EventHub
from trading_bot.venues.backoff import Backoff
from trading_bot.venues.errors import RateLimited, TemporaryError, VenueError
from trading_bot.venues.health import StreamHealth
from trading_bot.venues.oanda.rest import OandaRest, account_path, auth_headers, decode_reply
from trading_bot.venues.oanda.schemas import (
    StreamTransaction,
    TransactionsSince,
    transaction_decoder,
)
from trading_bot.venues.oanda.stream import NdjsonStream, StreamConnection

log = structlog.get_logger("trading_bot.oanda")

Handle = Callable[[StreamTransaction], None]


class OandaTransactions:
    """Streams the account's transactions to `handle`. `last_id` is the last transaction
    already known (None: from the first one the stream shows)."""

    def __init__(
        self,
        hub: EventHub,
        clock: Clock,
        rest: OandaRest,
        handle: Handle,
        last_id: str | None = None,
    ) -> None:
        settings = rest.settings
        self.last_id = last_id
        self.stream: NdjsonStream[StreamTransaction] | None = None
        self._rest = rest
        self._handle = handle
        self._backoff = Backoff(settings.reconnect_min_s, settings.reconnect_max_s)
        self._health = StreamHealth(hub, clock, f"oanda transactions {settings.account_id}")

    async def run(self) -> None:
        settings = self._rest.settings
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=settings.request_timeout_s)
        async with aiohttp.ClientSession(
            headers=auth_headers(settings), timeout=timeout
        ) as session:
            stream = self.stream = NdjsonStream(
                session,
                settings,
                account_path(settings, "transactions/stream"),
                transaction_decoder,
                _is_heartbeat,
            )
            while True:
                try:
                    connection = await stream.connect()
                    await self.catch_up()
                except TemporaryError as exc:
                    self._health.stale("reconnecting", f"transactions: {exc}; reconnecting")
                    await asyncio.sleep(self._delay_after(exc))
                    continue
                self._health.restored()
                try:
                    await self._consume(connection)
                finally:
                    connection.close()
                if connection.data:
                    self._backoff.reset()
                self._health.stale(
                    "reconnecting",
                    f"transactions stream {connection.end}: {connection.detail}; reconnecting",
                )
                await asyncio.sleep(self._backoff.next())

    async def _consume(self, connection: StreamConnection[StreamTransaction]) -> None:
        async for transaction in connection:
            if transaction.heartbeat:
                latest = transaction.last_transaction_id
                if self.last_id is None:
                    self.last_id = latest  # from here on, a gap can be noticed
                elif latest is not None and int(latest) > int(self.last_id):
                    await self.catch_up()  # a transaction was lost on the way
            else:
                self._deliver(transaction)

    async def catch_up(self, until: str | None = None) -> None:
        """Hand over the transactions after the last one handled (up to `until`, if given)."""
        if self.last_id is None:
            return
        path = account_path(self._rest.settings, "transactions/sinceid")
        body = await self._rest.read(path, {"id": self.last_id})
        for transaction in decode_reply(path, body, TransactionsSince).transactions:
            if until is not None and int(transaction.id) > int(until):
                break
            self._deliver(transaction)

    def _deliver(self, transaction: StreamTransaction) -> None:
        if self.last_id is not None and int(transaction.id) <= int(self.last_id):
            return  # seen already (the stream and sinceid overlap)
        self.last_id = transaction.id
        self._handle(transaction)

    def _delay_after(self, exc: VenueError) -> float:
        return exc.retry_after if isinstance(exc, RateLimited) else self._backoff.next()


def _is_heartbeat(transaction: StreamTransaction) -> bool:
    return transaction.heartbeat
