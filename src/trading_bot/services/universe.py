"""The dynamic universe: which symbols to trade, chosen again on a schedule from the venue's 24 h
tickers: the top N by quote volume among those that pass the filters (quote asset, price,
spread, volatility as ATR % of the price).

The choice is handed to the app (`apply`), which subscribes to the new symbols and stops
looking for entries in the dropped ones; a symbol with an open position or open orders is
always kept, whatever the ranking says, until it is flat.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from decimal import Decimal

import structlog

from trading_bot.services.scanner import ScanSource, Ticker, measured_atr_pct
from trading_bot.services.settings import UniverseSettings

log = structlog.get_logger("trading_bot.universe")

ATR_CHECKS_PER_PICK = 3  # at most top_n x this candidates have their candles fetched

Apply = Callable[[list[str]], Awaitable[object]]


@dataclass(frozen=True, slots=True)
class Pick:
    symbol: str
    quote_volume: Decimal
    spread_pct: float
    atr_pct: float | None


def spread_pct(ticker: Ticker) -> float | None:
    """The bid-ask spread as % of the mid price; None without a two-sided book."""
    if ticker.bid <= 0 or ticker.ask < ticker.bid:
        return None
    mid = (ticker.bid + ticker.ask) / 2
    return float((ticker.ask - ticker.bid) / mid * 100)


def passes(settings: UniverseSettings, ticker: Ticker) -> bool:
    """The filters a ticker alone can answer (all but volatility)."""
    s, price = settings, float(ticker.last_price)
    spread = spread_pct(ticker)
    return not (
        ticker.symbol.partition("/")[2] != s.quote_asset
        or ticker.symbol in s.exclude
        or (s.min_price is not None and price < s.min_price)
        or (s.max_price is not None and price > s.max_price)
        or (s.min_quote_volume is not None and float(ticker.quote_volume) < s.min_quote_volume)
        or spread is None
        or (s.max_spread_pct is not None and spread > s.max_spread_pct)
    )


class Universe:
    """Ranks the venue's symbols (`refresh` is the scheduler's job) and hands the pick to
    `apply`; `picks` holds the last ranking, for people."""

    def __init__(self, settings: UniverseSettings, source: ScanSource, apply: Apply) -> None:
        self.settings = settings
        self.source = source
        self.apply = apply
        self.picks: list[Pick] = []

    async def refresh(self) -> list[Pick]:
        self.picks = await self.rank()
        log.info("universe ranked", symbols=[p.symbol for p in self.picks])
        await self.apply([p.symbol for p in self.picks])
        return self.picks

    async def rank(self) -> list[Pick]:
        """The top N by quote volume that pass every filter; volatility is measured (one
        candle request each) only for the best-ranked, at most N x ATR_CHECKS_PER_PICK."""
        s = self.settings
        ranked = sorted(
            (t for t in await self.source.tickers(None) if passes(s, t)),
            key=lambda t: t.quote_volume,
            reverse=True,
        )
        measure = s.min_atr_pct is not None or s.max_atr_pct is not None
        picks: list[Pick] = []
        for ticker in ranked[: s.top_n * ATR_CHECKS_PER_PICK] if measure else ranked:
            if len(picks) == s.top_n:
                break
            volatility = await measured_atr_pct(self.source, ticker.symbol, s) if measure else None
            if measure and not self._volatile_enough(volatility):
                continue
            spread = spread_pct(ticker)
            assert spread is not None, "passes() let only two-sided books through"
            picks.append(Pick(ticker.symbol, ticker.quote_volume, spread, volatility))
        return picks

    def _volatile_enough(self, value: float | None) -> bool:
        s = self.settings
        if value is None:
            return False
        return not (
            (s.min_atr_pct is not None and value < s.min_atr_pct)
            or (s.max_atr_pct is not None and value > s.max_atr_pct)
        )
