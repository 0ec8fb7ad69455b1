"""The universe's ranking: top N by 24 h quote volume among the symbols that pass every filter."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

import pytest

from trading_bot.services.scanner import Bar, Ticker
from trading_bot.services.universe import Universe, UniverseSettings, spread_pct


class Source:
    """Tickers and candles held in memory (the Binance one is tested against the fake)."""

    def __init__(self, tickers: list[Ticker], bars: dict[str, list[Bar]]) -> None:
        self._tickers = tickers
        self._bars = bars
        self.bars_asked: list[str] = []

    async def tickers(self, symbols: Sequence[str] | None) -> list[Ticker]:
        assert symbols is None, "the universe asks for every symbol"
        return self._tickers

    async def bars(self, symbol: str, interval: str, limit: int) -> list[Bar]:
        self.bars_asked.append(symbol)
        return self._bars.get(symbol, [])[-limit:]


def ticker(symbol: str, volume: float, price: float = 10.0, spread: float = 0.01) -> Ticker:
    p = Decimal(str(price))
    half = p * Decimal(str(spread)) / 200
    return Ticker(symbol, p, Decimal(0), Decimal(str(volume)), p - half, p + half)


def bars(range_pct: float, count: int = 60) -> list[Bar]:
    """Candles around 100 whose true range is `range_pct` % of the price."""
    return [Bar(100 + range_pct / 2, 100 - range_pct / 2, 100.0) for _ in range(count)]


async def rank(settings: UniverseSettings, source: Source) -> list[str]:
    chosen: list[list[str]] = []

    async def apply(symbols: list[str]) -> None:
        chosen.append(symbols)

    picks = await Universe(settings, source, apply).refresh()
    assert chosen == [[p.symbol for p in picks]]  # what was ranked is what is traded
    return chosen[0]


async def test_the_top_n_by_quote_volume_in_the_quote_asset_not_excluded() -> None:
    source = Source(
        [
            ticker("BTC/USDT", 900),
            ticker("ETH/USDT", 800),
            ticker("USDC/USDT", 850),
            ticker("SOL/BTC", 10_000),
            ticker("XRP/USDT", 700),
            ticker("ADA/USDT", 100),
        ],
        {},
    )
    settings = UniverseSettings(enabled=True, top_n=3, exclude=("USDC/USDT",))
    assert await rank(settings, source) == ["BTC/USDT", "ETH/USDT", "XRP/USDT"]
    assert source.bars_asked == []  # no volatility filter: no candles fetched


async def test_price_volume_and_spread_filters() -> None:
    source = Source(
        [
            ticker("CHEAP/USDT", 900, price=0.0001),
            ticker("DEAR/USDT", 880, price=90_000),
            ticker("WIDE/USDT", 870, spread=1.0),
            Ticker("ONESIDED/USDT", Decimal(10), Decimal(0), Decimal(860), Decimal(0), Decimal(10)),
            ticker("OK/USDT", 500),
            ticker("THIN/USDT", 10),
        ],
        {},
    )
    settings = UniverseSettings(
        enabled=True, top_n=5, min_price=0.01, max_price=50_000, max_spread_pct=0.1,
        min_quote_volume=100,
    )  # fmt: skip
    assert await rank(settings, source) == ["OK/USDT"]


async def test_volatility_is_measured_only_for_the_best_ranked() -> None:
    names = [f"S{i}/USDT" for i in range(10)]
    source = Source(
        [ticker(name, 1000 - i) for i, name in enumerate(names)],
        {name: bars(0.5 if i % 2 else 5.0) for i, name in enumerate(names)},
    )
    settings = UniverseSettings(enabled=True, top_n=2, min_atr_pct=1.0, max_atr_pct=10.0)
    assert await rank(settings, source) == ["S0/USDT", "S2/USDT"]
    assert source.bars_asked == names[:3]  # it stops once N are found

    calm = Source([ticker(n, 1000 - i) for i, n in enumerate(names)], {n: bars(0.5) for n in names})
    assert await rank(settings, calm) == []
    assert len(calm.bars_asked) == 2 * 3  # at most N x 3 candle requests


def test_spread_of_a_book() -> None:
    assert spread_pct(ticker("A/USDT", 1, price=100, spread=0.2)) == pytest.approx(0.2)
    crossed = Ticker("A/USDT", Decimal(1), Decimal(0), Decimal(1), Decimal(2), Decimal(1))
    assert spread_pct(crossed) is None
