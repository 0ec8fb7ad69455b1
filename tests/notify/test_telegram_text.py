"""Splitting Telegram HTML: every part fits, every part parses as Telegram parses it, and
nothing is lost or reordered (only the whitespace a cut falls on)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from trading_bot.notify.telegram_text import coalesce, split, utf16_len
from trading_bot.testing.telegram_html import parse_html

ATOMS = ["a", "bc", " ", "\n", "&amp;", "&lt;", "🟢", "<b>bold</b>", "<b>x:</b> ", "word "]


def visible(html: str) -> str:
    return "".join(parse_html(html)[0].split())


# limits from 12: no markup atom is longer, as no rendered title (<b>…</b>) nears 4096
@settings(max_examples=200, deadline=None)
@given(atoms=st.lists(st.sampled_from(ATOMS), min_size=1, max_size=600), limit=st.integers(12, 300))
def test_split_parts_fit_parse_and_keep_the_text(atoms: list[str], limit: int) -> None:
    text = "".join(atoms)
    parts = split(text, limit)
    assert all(0 < utf16_len(part) <= limit for part in parts)
    assert "".join(visible(part) for part in parts) == visible(text)


def test_coalesce_takes_what_fits_and_at_least_one() -> None:
    assert coalesce(["x" * 5000, "y"]) == 1
    assert coalesce(["x" * 2000, "y" * 2000, "z" * 100]) == 2
    assert coalesce(["x" * 10] * 50) == 50
