"""Binance's markets from exchangeInfo: the one place our "BTC/USDT" meets Binance's "BTCUSDT".

Names are built from each symbol's base and quote assets as Binance lists them, never by cutting
"BTCUSDT" in two, and each market carries the trading rules an `Instrument` needs.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from trading_bot.core.model import Instrument
from trading_bot.venues.binance.schemas import ExchangeInfo, SymbolInfo


@dataclass(frozen=True, slots=True)
class Market:
    symbol: str  # ours: "BTC/USDT"
    venue_symbol: str  # Binance's: "BTCUSDT"
    status: str  # "TRADING", "BREAK", ...
    instrument: Instrument


class Markets:
    def __init__(self, markets: Iterable[Market]) -> None:
        self._ours = {m.symbol: m for m in markets}
        self._venue = {m.venue_symbol: m.symbol for m in self._ours.values()}

    @classmethod
    def from_exchange_info(cls, info: ExchangeInfo) -> Markets:
        return cls(_market(symbol) for symbol in info.symbols)

    def __len__(self) -> int:
        return len(self._ours)

    def market(self, symbol: str) -> Market:
        """The market of one of our symbols ("BTC/USDT"); ValueError names an unknown one."""
        market = self._ours.get(symbol)
        if market is None:
            base, _, quote = symbol.partition("/")
            raise ValueError(
                f"{symbol!r} is not a Binance spot market: no symbol has base asset {base!r} and "
                f"quote asset {quote!r} (write symbols as BASE/QUOTE, such as 'BTC/USDT')"
            )
        return market

    def venue_symbol(self, symbol: str) -> str:
        return self.market(symbol).venue_symbol

    def instrument(self, symbol: str) -> Instrument:
        return self.market(symbol).instrument

    def symbol(self, venue_symbol: str) -> str | None:
        """Our name of Binance's "BTCUSDT", or None when it is not a known market."""
        return self._venue.get(venue_symbol)


def _market(info: SymbolInfo) -> Market:
    symbol = f"{info.base_asset}/{info.quote_asset}"
    rules: dict[str, Decimal] = {}
    for f in info.filters:
        if f.filter_type == "PRICE_FILTER" and f.tick_size:
            rules["tick_size"] = _plain(f.tick_size)
        elif f.filter_type == "LOT_SIZE":
            if f.step_size:
                rules["lot_step"] = _plain(f.step_size)
            if f.min_qty is not None:
                rules["min_qty"] = _plain(f.min_qty)
        elif f.filter_type in ("NOTIONAL", "MIN_NOTIONAL") and f.min_notional is not None:
            # NOTIONAL replaced MIN_NOTIONAL; a symbol has one or the other
            rules["min_notional"] = _plain(f.min_notional)
    return Market(symbol, info.symbol, info.status, Instrument(symbol, **rules, spot=True))


def _plain(value: Decimal) -> Decimal:
    """Without trailing zeros: 0.01000000 -> 0.01, and 10.00000000 -> 10 (not 1E+1)."""
    return value.quantize(Decimal(1)) if value == value.to_integral_value() else value.normalize()
