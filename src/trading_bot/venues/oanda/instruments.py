"""The one place where our names meet OANDA's: "EUR/USD" is OANDA's "EUR_USD", "1m" is its
granularity "M1", and an account instrument's precisions become an `Instrument`'s rules."""

from __future__ import annotations

from decimal import Decimal

from trading_bot.core.model import Instrument
from trading_bot.data.timeframes import format_timeframe, parse_timeframe
from trading_bot.venues.oanda.schemas import AccountInstrument

# OANDA's candlestick granularities from S5 to D, by our timeframe in milliseconds. W and M are
# left out: OANDA aligns weeks on a weekday and months have no fixed length.
GRANULARITIES = {
    parse_timeframe(ours): theirs
    for ours, theirs in (
        *(("5s", "S5"), ("10s", "S10"), ("15s", "S15"), ("30s", "S30")),
        *(("1m", "M1"), ("2m", "M2"), ("4m", "M4"), ("5m", "M5")),
        *(("10m", "M10"), ("15m", "M15"), ("30m", "M30")),
        *(("1h", "H1"), ("2h", "H2"), ("3h", "H3"), ("4h", "H4"), ("6h", "H6")),
        *(("8h", "H8"), ("12h", "H12"), ("1d", "D")),
    )
}


def granularity(timeframe: str) -> str:
    """OANDA's granularity of one of our timeframes ("1m" -> "M1"); ValueError lists them."""
    theirs = GRANULARITIES.get(parse_timeframe(timeframe))
    if theirs is None:
        usable = ", ".join(format_timeframe(ms) for ms in GRANULARITIES)
        raise ValueError(f"OANDA has no candles of {timeframe!r}; use one of {usable}")
    return theirs


def venue_name(symbol: str) -> str:
    """OANDA's name of one of our symbols: "EUR/USD" -> "EUR_USD"."""
    base, slash, quote = symbol.partition("/")
    if not (slash and base and quote) or "_" in symbol:
        raise ValueError(f"{symbol!r} is not a symbol: write it as BASE/QUOTE, such as 'EUR/USD'")
    return f"{base}_{quote}"


def our_symbol(name: str) -> str:
    """Our name of one of OANDA's instruments: "EUR_USD" -> "EUR/USD"."""
    base, _, quote = name.partition("_")
    return f"{base}/{quote}"


def to_instrument(info: AccountInstrument) -> Instrument:
    """OANDA's precisions as rules: prices have `displayPrecision` decimals, units
    `tradeUnitsPrecision` (0: whole units), and an order needs `minimumTradeSize` units."""
    return Instrument(
        our_symbol(info.name),
        tick_size=Decimal(1).scaleb(-info.display_precision),
        lot_step=Decimal(1).scaleb(-info.trade_units_precision),
        min_qty=info.minimum_trade_size,
    )
