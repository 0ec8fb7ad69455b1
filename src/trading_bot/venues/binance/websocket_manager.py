"""`BinanceWebSocketManager`, the original specification's name for the Binance market feed,
with its factory `create_binance_websocket_manager(config, hub, symbol, reconnection_config)`:
Binance candles on an EventHub without the rest of the app, for scripts and users' own tools.

It is the bot's own feed (`BinanceFeed`: combined streams, pings answered, reconnection with
backoff and jitter within Binance's connection budget, REST backfill, polling while no stream can
be had) with its own REST client. Put a `DataProcessor` on the hub to receive each closed candle
exactly once (`CANDLE_DATA_PROCESSED`): the manager backfills after the last one it published.

    hub = EventHub()
    DataProcessor(hub)
    manager = create_binance_websocket_manager(settings, hub, "BTC/USDT")
    task = asyncio.create_task(manager.run())   # until cancelled
    ...
    task.cancel()
    await manager.close()
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from trading_bot.core.clock import Clock, WallClock
from trading_bot.core.events import CandleDataProcessed
from trading_bot.core.hub import EventHub, Priority
from trading_bot.venues.binance.config import BinanceSettings
from trading_bot.venues.binance.feed import BinanceFeed
from trading_bot.venues.binance.rest import BinanceRest


@dataclass(frozen=True)
class ReconnectionConfig:
    """How the manager reconnects; a field left None keeps the `[binance]` section's value."""

    min_delay_s: float | None = None
    max_delay_s: float | None = None
    stale_after_s: float | None = None
    failures_before_polling: int | None = None

    def applied_to(self, settings: BinanceSettings) -> BinanceSettings:
        names = {
            "reconnect_min_s": self.min_delay_s,
            "reconnect_max_s": self.max_delay_s,
            "stale_after_s": self.stale_after_s,
            "failures_before_polling": self.failures_before_polling,
        }
        changes = {name: value for name, value in names.items() if value is not None}
        return BinanceSettings.model_validate({**settings.model_dump(), **changes})


class HasBinanceSettings(Protocol):
    """The whole configuration (`trading_bot.config.Settings`), of which `[binance]` is used."""

    @property
    def binance(self) -> BinanceSettings: ...


class BinanceWebSocketManager:
    """Streams `symbol`'s klines of `timeframe` (default: the section's) into `hub`."""

    def __init__(
        self,
        hub: EventHub,
        settings: BinanceSettings,
        symbol: str,
        timeframe: str | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.clock = clock or WallClock()
        self.rest = BinanceRest(settings, self.clock)
        self._last_closed: dict[str, int] = {}
        self.feed = BinanceFeed(
            hub,
            self.clock,
            self.rest,
            settings,
            [symbol],
            timeframe or settings.timeframe,
            self._last_closed.get,
        )
        hub.subscribe(CandleDataProcessed, self._on_closed, Priority.VENUE)

    def _on_closed(self, event: CandleDataProcessed) -> None:
        candle = event.candle
        if candle.timeframe_ms == self.feed.timeframe_ms:
            self._last_closed[candle.symbol] = candle.open_time

    async def run(self) -> None:
        """Publish MARKET_DATA_RECEIVED (forming and closed candles) until cancelled."""
        await self.feed.run()

    async def close(self) -> None:
        await self.rest.close()


def create_binance_websocket_manager(
    config_manager: HasBinanceSettings | BinanceSettings,
    event_hub: EventHub,
    symbol: str,
    reconnection_config: ReconnectionConfig | None = None,
    **options: Any,
) -> BinanceWebSocketManager:
    """A manager for `symbol` ("BTC/USDT") from the configuration (the whole of it, or its
    `[binance]` section), with `reconnection_config` over the section's reconnection keys.
    `options` go to `BinanceWebSocketManager` (`timeframe`, `clock`)."""
    settings = (
        config_manager if isinstance(config_manager, BinanceSettings) else config_manager.binance
    )
    if reconnection_config is not None:
        settings = reconnection_config.applied_to(settings)
    return BinanceWebSocketManager(event_hub, settings, symbol, **options)
