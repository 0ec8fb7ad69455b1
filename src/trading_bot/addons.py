"""The optional parts of a run beside the trading pipeline, built from the settings and started
and stopped with it: the HTTP API (with the dashboard and /metrics) and the periodic services
(news, economic calendar, price scanning, housekeeping).

Kept out of `app.py`, which owns the lifecycle, so that each stays small.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from trading_bot.api.server import BotApi
from trading_bot.core.clock import WallClock
from trading_bot.logs import log_error
from trading_bot.pipeline import request_flatten
from trading_bot.services.runtime import Services, build_services
from trading_bot.services.scanner import ScanSource
from trading_bot.services.scanner_binance import BinanceScanSource
from trading_bot.venues.binance.market import BinanceMarket
from trading_bot.venues.binance.rest import BinanceRest

if TYPE_CHECKING:
    import asyncio

    from trading_bot.app import TradingApp
    from trading_bot.config import Settings
    from trading_bot.venues.market import Market


async def scan_source(
    settings: Settings, market: Market
) -> tuple[ScanSource | None, BinanceRest | None]:
    """The venue the watchlist scan and the universe read (Binance's public market data), when
    either is enabled; and a REST client of its own to close, when the market's could not be
    shared."""
    services = settings.services
    if not (services.scanner.enabled or services.universe.enabled):
        return None, None
    if isinstance(market, BinanceMarket) and market.markets is not None:
        return BinanceScanSource(market.rest, market.markets), None
    rest = BinanceRest(settings.binance, WallClock())
    try:
        return BinanceScanSource(rest, await rest.markets()), rest
    except BaseException:
        await rest.close()
        raise


class Addons:
    def __init__(
        self,
        app: TradingApp,
        source: ScanSource | None,
        tasks: Callable[[], Sequence[asyncio.Task[Any]]],
    ) -> None:
        settings, pipeline = app.settings, app.pipeline
        self.api = BotApi(settings.api, app.control, tasks=tasks) if settings.api.enabled else None
        logs = [p for p in (settings.logging.file, settings.logging.audit_file) if p is not None]
        self.services: Services = build_services(
            settings.services,
            pipeline.hub,
            app.clock,
            [app.symbol],
            calendar=app.calendar,
            notify=app.channels.notify,
            flatten=lambda symbol, why: request_flatten(pipeline, app.clock.now_ms(), why, symbol),
            open_symbols=lambda: [p.symbol for p in pipeline.portfolio.open_positions()],
            scan_source=source,
            trade_universe=app.traded.apply,
            active_logs=[Path(p) for p in logs],
            database_url=settings.storage.database_url,
        )

    def start(self) -> list[str]:
        """Bind the API's port (ApiUnavailable says why it cannot); what to tell people."""
        if self.api is None:
            return []
        self.api.bind()
        return self.api.announcement()

    async def rank_universe(self) -> None:
        """The dynamic universe's first ranking, before the feed starts; if the venue cannot
        answer now, the bot starts on what it traded last and the schedule tries again."""
        universe = self.services.universe
        if universe is None:
            return
        try:
            await universe.refresh()
        except Exception as exc:  # a venue or network failure: the next run retries
            log_error(exc, task="universe", detail="starting on the symbols traded last")

    def early_tasks(self) -> dict[str, Coroutine[Any, Any, None]]:
        """Stopped with the intake."""
        return {"services": self.services.run()}

    def late_tasks(self) -> dict[str, Coroutine[Any, Any, None]]:
        """Kept until the end, so people can watch the shutdown."""
        return {} if self.api is None else {"http-api": self.api.serve()}

    async def close(self) -> None:
        await self.services.close()
