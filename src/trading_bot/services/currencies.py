"""The currencies of our symbols: what news and calendar events are matched against."""

from __future__ import annotations

import re

_SEPARATORS = re.compile(r"[/_\-:]")


def currencies_of(symbol: str) -> tuple[str, ...]:
    """The base and quote of "EUR/USD", "EUR_USD" or "BTC-USDT", upper-case; a symbol without a
    separator is taken as one code."""
    return tuple(part for part in _SEPARATORS.split(symbol.upper()) if part)
