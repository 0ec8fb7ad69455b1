"""OANDA market data as a `Market`: paper trading on live forex prices needs a token and an
account (OANDA serves no anonymous prices), but never places an order."""

from __future__ import annotations

from collections.abc import Coroutine
from typing import Any

from trading_bot.core.clock import WallClock
from trading_bot.core.hub import EventHub
from trading_bot.core.model import Candle, Instrument
from trading_bot.core.settings import InstrumentSettings
from trading_bot.data.timeframes import parse_timeframe
from trading_bot.venues.market import LastClosed
from trading_bot.venues.oanda.config import OandaSettings
from trading_bot.venues.oanda.feed import OandaFeed
from trading_bot.venues.oanda.rest import OandaRest


class OandaMarket:
    def __init__(self, settings: OandaSettings, *, poll_only: bool = False) -> None:
        self.settings = settings
        self.poll_only = poll_only
        self.symbol = settings.symbol
        self.timeframe_ms = parse_timeframe(settings.timeframe)
        self.synthetic = False
        self.clock = WallClock()
        self.rest = OandaRest(settings)
        self.instrument: Instrument | None = None  # once prepared

    async def prepare(self, fallback: InstrumentSettings) -> Instrument:
        """The instrument's rules from the account's instruments (OANDA publishes them all, so
        `fallback` is not needed); AuthError naming `oanda.token` when it is missing."""
        self.instrument = await self.rest.instrument(self.symbol)
        return self.instrument

    async def history(self, until_open_time: int | None, count: int) -> list[Candle]:
        settings = self.settings
        return await self.rest.history(self.symbol, settings.timeframe, count, until_open_time)

    def feed(self, hub: EventHub, last_closed: LastClosed) -> Coroutine[Any, Any, None]:
        feed = OandaFeed(
            hub, self.clock, self.rest, self.settings, last_closed, poll_only=self.poll_only
        )
        return feed.run()

    def describe(self) -> str:
        s = self.settings
        how = ", polled over REST at each close (sync mode)" if self.poll_only else ""
        return f"OANDA {s.environment} {s.price} prices, account {s.account_id} ({s.rest_url}{how})"

    async def close(self) -> None:
        await self.rest.close()
