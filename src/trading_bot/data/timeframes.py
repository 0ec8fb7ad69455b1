"""Timeframe names ("1m", "4h", "1d") to milliseconds and back, as venues and configs write them."""

from __future__ import annotations

import re
from datetime import UTC, datetime

# Largest unit first: `format_timeframe` picks the first one that divides exactly.
_UNIT_MS = {"w": 604_800_000, "d": 86_400_000, "h": 3_600_000, "m": 60_000, "s": 1_000}
_PATTERN = re.compile(r"([0-9]+)([smhdw])")


def parse_timeframe(text: str) -> int:
    """Milliseconds of a timeframe such as "1s", "15m", "4h", "1d" or "1w"."""
    match = _PATTERN.fullmatch(text.strip())
    if match is None or int(match[1]) == 0:
        raise ValueError(
            f"invalid timeframe {text!r}: write a positive whole number followed by "
            "s, m, h, d or w (lower case), such as '1m', '4h' or '1d'"
        )
    return int(match[1]) * _UNIT_MS[match[2]]


def format_timeframe(ms: int) -> str:
    """The shortest name of a timeframe in milliseconds: 3_600_000 -> "1h", 5_400_000 -> "90m"."""
    if ms <= 0 or ms % 1_000:
        raise ValueError(f"invalid timeframe {ms} ms: use a positive whole number of seconds")
    unit, size = next((unit, size) for unit, size in _UNIT_MS.items() if ms % size == 0)
    return f"{ms // size}{unit}"


def parse_time(text: str, option: str) -> int:
    """An ISO date or date-time (`2023-01-05`, `2023-01-05T14:30`, `...Z`, `...+02:00`) as
    epoch ms; without an offset it is UTC. `option` names the setting in the error."""
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(
            f"{option} {text!r} is not an ISO date or time: write it like 2023-01-05 or "
            "2023-01-05T14:30 (UTC)"
        ) from None
    return int((value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp() * 1000)
