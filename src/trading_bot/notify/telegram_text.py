"""Notifications as Telegram HTML messages, merged when backlogged and split at 4096 characters.

Lengths count UTF-16 code units of the HTML source, as Telegram counts its limit (on the parsed
text, which is never longer): an emoji is two. A split never falls inside a tag, an open
`<b>…</b>` or an `&amp;`, which Telegram would refuse as unparseable.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from trading_bot.notify.messages import Notification, Outcome

MESSAGE_MAX = 4096
TITLE_MAX = 256
FIELD_NAME_MAX = 64
SEPARATOR = "\n\n"
MARKS = {Outcome.GOOD: "🟢", Outcome.BAD: "🔴", Outcome.NEUTRAL: "🔵"}


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def render(notification: Notification) -> str:
    """Title in bold, then the free lines, then one `Name: value` line per field."""
    title = notification.title
    if len(title) > TITLE_MAX:
        title = title[: TITLE_MAX - 1] + "…"
    out = [f"{MARKS[notification.outcome]} <b>{escape(title, quote=False)}</b>"]
    out += [escape(line, quote=False) for line in notification.lines if line]
    for f in notification.fields:
        name = f.name if len(f.name) <= FIELD_NAME_MAX else f.name[: FIELD_NAME_MAX - 1] + "…"
        out.append(f"<b>{escape(name, quote=False)}:</b> {escape(f.value, quote=False)}")
    return "\n".join(out)


def coalesce(rendered: Sequence[str], limit: int = MESSAGE_MAX) -> int:
    """How many of the leading rendered notifications fit in one message together (at least
    one: a longer one is split by `split`)."""
    total = utf16_len(rendered[0])
    count = 1
    for text in rendered[1:]:
        total += utf16_len(SEPARATOR) + utf16_len(text)
        if total > limit:
            break
        count += 1
    return count


def split(text: str, limit: int = MESSAGE_MAX) -> list[str]:
    """`text` as messages of at most `limit` units: at line breaks where possible, else at a
    space, else anywhere outside markup."""
    parts: list[str] = []
    current = ""
    for line in text.split("\n"):
        candidate = f"{current}\n{line}" if current else line
        if utf16_len(candidate) <= limit:
            current = candidate
            continue
        if current:
            parts.append(current)
        while utf16_len(line) > limit:
            cut = _safe_cut(line, limit)
            parts.append(line[:cut])
            line = line[cut:].lstrip(" ")
        current = line
    if current:
        parts.append(current)
    return [part for part in parts if part.strip()]  # Telegram refuses a blank message


def _safe_cut(line: str, limit: int) -> int:
    """The index to cut an over-long line at: within `limit` units, outside tags, open tags and
    character references, at the last space if there is one."""
    best = best_space = 0
    units = 0
    depth = 0  # elements open
    in_tag = in_ref = False
    for i, char in enumerate(line):
        if not (in_tag or in_ref) and depth == 0 and i > 0:
            best = i
            if char == " ":
                best_space = i
        units += utf16_len(char)
        if units > limit:
            break
        if char == "<":
            in_tag = True
            depth += -1 if line.startswith("</", i) else 1
        elif char == ">":
            in_tag = False
        elif char == "&":
            in_ref = True
        elif char == ";":
            in_ref = False
    cut = best_space if best_space > best // 2 else best
    if cut == 0:  # no safe place at all (markup longer than a message): cut anyway
        cut = max(1, limit // 2)
    return cut
