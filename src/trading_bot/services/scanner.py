"""The price scanner: a watchlist's 24 h change, volatility (ATR as % of the price) and quote
volume, from a venue's REST tickers and candles, with a `PriceAlert` when one crosses its
threshold.

Alerts are edge-triggered: one when a measure crosses its threshold, none while it stays beyond
it, and again only after it has come back below `rearm_fraction` of it. A scan every few minutes
then tells people about a move once, not every few minutes for as long as it lasts, nor each
time it wobbles around the threshold.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import ClassVar, Protocol

import numpy as np
import pandas as pd
import structlog

from trading_bot.core.clock import Clock
from trading_bot.core.events import Event, EventType
from trading_bot.core.hub import EventHub
from trading_bot.services.settings import AtrWindow, ScannerSettings
from trading_bot.strategies.ict.indicators.structure import atr

log = structlog.get_logger("trading_bot.scanner")

PRICE_ALERT = EventType.PRICE_ALERT


@dataclass(frozen=True, slots=True)
class Ticker:
    """24 h statistics of one symbol, as a venue's ticker gives them, with the best bid and
    ask now."""

    symbol: str
    last_price: Decimal
    change_pct: Decimal
    quote_volume: Decimal
    bid: Decimal
    ask: Decimal


@dataclass(frozen=True, slots=True)
class Bar:
    high: float
    low: float
    close: float


class ScanSource(Protocol):
    """What the scanner needs of a venue (see `scanner_binance.BinanceScanSource`)."""

    async def tickers(self, symbols: Sequence[str] | None) -> list[Ticker]:
        """The tickers of these symbols; None: of every symbol the venue trades."""
        ...

    async def bars(self, symbol: str, interval: str, limit: int) -> list[Bar]: ...


@dataclass(frozen=True, slots=True)
class ScanRow:
    """One symbol's measures at the last scan (for the status command and the API)."""

    symbol: str
    time: int
    last_price: Decimal
    change_pct: float
    atr_pct: float | None
    quote_volume: Decimal


@dataclass(slots=True)
class PriceAlert(Event):
    """A watched measure crossed its threshold (`metric`: change_pct, atr_pct, quote_volume)."""

    type: ClassVar[EventType] = PRICE_ALERT
    symbol: str
    metric: str
    value: float
    threshold: float
    time: int
    detail: str


async def measured_atr_pct(source: ScanSource, symbol: str, window: AtrWindow) -> float | None:
    """The symbol's ATR as % of its price, over the bars `window` asks for (three periods, for
    Wilder's smoothing to settle)."""
    bars = await source.bars(symbol, window.atr_interval, window.atr_period * 3 + 1)
    return atr_pct(bars, window.atr_period)


def atr_pct(bars: Sequence[Bar], period: int) -> float | None:
    """The ATR (Wilder, `period`) of the last bar as % of its close; None without enough bars."""
    if len(bars) <= period:
        return None
    frame = pd.DataFrame(
        {
            "high": [b.high for b in bars],
            "low": [b.low for b in bars],
            "close": [b.close for b in bars],
        }
    )
    value = float(atr(frame, period).iloc[-1])
    close = bars[-1].close
    return None if not np.isfinite(value) or close <= 0 else value / close * 100


class PriceScanner:
    """Scans the watchlist (`scan` is the scheduler's job); `rows` holds the last results."""

    def __init__(
        self, settings: ScannerSettings, hub: EventHub, clock: Clock, source: ScanSource
    ) -> None:
        self.settings = settings
        self.hub = hub
        self.clock = clock
        self.source = source
        self.rows: dict[str, ScanRow] = {}
        self._beyond: set[tuple[str, str]] = set()  # (symbol, metric) past its threshold now

    async def scan(self) -> list[ScanRow]:
        s = self.settings
        if not s.symbols:
            return []
        tickers = await self.source.tickers(s.symbols)
        now = self.clock.now_ms()
        rows = []
        for ticker in tickers:
            atr_pct = (
                await measured_atr_pct(self.source, ticker.symbol, s)
                if s.atr_pct is not None
                else None
            )
            row = ScanRow(
                ticker.symbol,
                now,
                ticker.last_price,
                float(ticker.change_pct),
                atr_pct,
                ticker.quote_volume,
            )
            self.rows[row.symbol] = row
            rows.append(row)
            self._check(row)
        return rows

    def _check(self, row: ScanRow) -> None:
        s = self.settings
        measures = (
            (
                "change_pct",
                abs(row.change_pct),
                s.change_pct,
                f"24 h change {row.change_pct:+.2f}%",
            ),
            ("atr_pct", row.atr_pct, s.atr_pct, f"ATR {row.atr_pct or 0:.2f}% of the price"),
            (
                "quote_volume",
                float(row.quote_volume),
                s.quote_volume,
                f"24 h quote volume {row.quote_volume:,.0f}",
            ),
        )
        for metric, value, threshold, detail in measures:
            if value is None or threshold is None:
                continue
            key = (row.symbol, metric)
            if key in self._beyond:
                if value < threshold * s.rearm_fraction:
                    self._beyond.discard(key)
                continue
            if value < threshold:
                continue
            self._beyond.add(key)
            text = f"{row.symbol}: {detail} (threshold {threshold:g}); last {row.last_price}"
            log.info("price alert", symbol=row.symbol, metric=metric, value=round(value, 4))
            self.hub.publish(PriceAlert(row.symbol, metric, value, threshold, row.time, text))
