from __future__ import annotations

import pytest

from trading_bot.data.timeframes import format_timeframe, parse_timeframe

KNOWN = {
    "1s": 1_000,
    "5s": 5_000,
    "1m": 60_000,
    "3m": 180_000,
    "5m": 300_000,
    "15m": 900_000,
    "30m": 1_800_000,
    "1h": 3_600_000,
    "2h": 7_200_000,
    "4h": 14_400_000,
    "6h": 21_600_000,
    "8h": 28_800_000,
    "12h": 43_200_000,
    "1d": 86_400_000,
    "1w": 604_800_000,
}


@pytest.mark.parametrize(("text", "ms"), KNOWN.items())
def test_parse_and_format_are_inverse_on_venue_timeframes(text: str, ms: int) -> None:
    assert parse_timeframe(text) == ms
    assert format_timeframe(ms) == text


def test_parse_accepts_any_count_and_surrounding_spaces() -> None:
    assert parse_timeframe(" 90m ") == 5_400_000
    assert parse_timeframe("10s") == 10_000


@pytest.mark.parametrize(
    ("ms", "text"),
    [(5_400_000, "90m"), (90_000, "90s"), (172_800_000, "2d"), (1_209_600_000, "2w")],
)
def test_format_uses_the_largest_unit_that_divides_exactly(ms: int, text: str) -> None:
    assert format_timeframe(ms) == text


@pytest.mark.parametrize("text", ["", "m", "1", "0m", "-1m", "1.5h", "1M", "1y", "1 m", "1mm"])
def test_parse_rejects_malformed_names_with_a_clear_message(text: str) -> None:
    with pytest.raises(ValueError, match=r"invalid timeframe .*such as '1m', '4h' or '1d'"):
        parse_timeframe(text)


@pytest.mark.parametrize("ms", [0, -60_000, 1_500])
def test_format_rejects_what_is_not_whole_seconds(ms: int) -> None:
    with pytest.raises(ValueError, match=f"invalid timeframe {ms} ms"):
        format_timeframe(ms)
