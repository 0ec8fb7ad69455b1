"""Telegram's HTML parse mode as the Bot API applies it: the text a message shows and its
entities, or the `can't parse entities` error Telegram answers for markup it refuses.

Only Telegram's tags are accepted, tags must nest and close, and `<`, `>` and `&` outside tags
and entities must be escaped; entity offsets and lengths count UTF-16 code units, as Telegram's
do. A message cut in the middle of a tag or an `&amp;` is refused here as it would be there.
"""

from __future__ import annotations

import re
from html import unescape
from typing import Any

ENTITY_TYPES = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "code": "code",
    "pre": "pre",
    "a": "text_link",
    "blockquote": "blockquote",
}
_TOKEN = re.compile(
    r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)((?:\s+[^<>]*)?)>|<|>|&(#\d+;|#x[0-9a-fA-F]+;|[a-zA-Z]+;)?"
)
_HREF = re.compile(r"""\s+href\s*=\s*(?:"([^"]*)"|'([^']*)')\s*$""")


class EntityParseError(ValueError):
    """Telegram's 400 `Bad Request: can't parse entities: ...`."""


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def parse_html(source: str) -> tuple[str, list[dict[str, Any]]]:
    """The text and the entities of an HTML-formatted message."""
    text: list[str] = []
    length = 0  # UTF-16 units so far
    entities: list[dict[str, Any]] = []
    open_tags: list[tuple[str, int, dict[str, Any]]] = []
    position = 0
    for match in _TOKEN.finditer(source):
        plain = source[position : match.start()]
        text.append(plain)
        length += utf16_len(plain)
        position = match.end()
        token = match.group(0)
        byte_offset = len(source[: match.start()].encode())
        if token.startswith("&"):
            if match.group(4) is None:
                raise EntityParseError(
                    f"Character '&' is reserved and must be escaped at byte offset {byte_offset}"
                )
            char = unescape(token)
            text.append(char)
            length += utf16_len(char)
            continue
        if token in ("<", ">"):
            raise EntityParseError(f"Unexpected {token!r} at byte offset {byte_offset}")
        closing, tag, attributes = match.group(1), match.group(2).lower(), match.group(3)
        if tag not in ENTITY_TYPES:
            raise EntityParseError(f'Unsupported start tag "{tag}" at byte offset {byte_offset}')
        if closing:
            if not open_tags or open_tags[-1][0] != tag:
                raise EntityParseError(
                    f'Unmatched end tag at byte offset {byte_offset}, expected "</'
                    f'{open_tags[-1][0] if open_tags else ""}>", found "</{tag}>"'
                )
            _, start, attrs = open_tags.pop()
            if length > start:
                entities.append(
                    {"type": ENTITY_TYPES[tag], "offset": start, "length": length - start, **attrs}
                )
            continue
        extra: dict[str, Any] = {}
        if tag == "a":
            href = _HREF.match(attributes)
            if href is None:
                raise EntityParseError(f"Can't find href of a link at byte offset {byte_offset}")
            extra["url"] = unescape(href.group(1) or href.group(2) or "")
        open_tags.append((tag, length, extra))
    text.append(source[position:])
    if open_tags:
        raise EntityParseError(
            f'Can\'t find end tag corresponding to start tag "{open_tags[-1][0]}"'
        )
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return "".join(text), entities
