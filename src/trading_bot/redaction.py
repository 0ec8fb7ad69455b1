"""Masking secrets in anything shown to people: logs, summaries, error messages."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

MASK = "***"

_URL_PASSWORD = re.compile(
    r"(?P<head>\b[a-z][a-z0-9+.\-]*://[^:/@\s]*:)(?P<password>[^/\s]*)@", re.I
)
_SENSITIVE_KEY = re.compile(r"token|secret|passw|api[_-]?key|webhook", re.I)


def redact_url(url: str) -> str:
    """Mask the password of every `scheme://user:password@` URL in `url` (or any text)."""
    return _URL_PASSWORD.sub(rf"\g<head>{MASK}@", url)


def url_passwords(text: str) -> list[str]:
    """The passwords of the `scheme://user:password@` URLs in `text`."""
    return [match["password"] for match in _URL_PASSWORD.finditer(text)]


def is_sensitive_key(name: str) -> bool:
    """Whether a value under `name` is a secret whatever it holds (`*_file` keys hold paths)."""
    return bool(_SENSITIVE_KEY.search(name)) and not name.endswith("_file")


class Redactor:
    """Masks secrets wherever they appear: known secret strings, sensitive keys, URL passwords.

    Shared by the logs, the effective-configuration summary and anything else shown to people.
    """

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        known = sorted({secret for secret in secrets if secret}, key=len, reverse=True)
        self._known = re.compile("|".join(map(re.escape, known))) if known else None

    def text(self, text: str) -> str:
        if self._known is not None:
            text = self._known.sub(MASK, text)
        return redact_url(text)

    def value(self, value: Any, key: str = "") -> Any:
        """A copy of `value` safe to show; containers are walked, other objects checked as text."""
        if value is None or isinstance(value, bool):
            return value
        if is_sensitive_key(key):
            return MASK
        if isinstance(value, int | float):
            return value
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, Mapping):
            return {k: self.value(v, str(k)) for k, v in value.items()}
        if isinstance(value, list | tuple | set | frozenset):
            return [self.value(item) for item in value]
        shown = str(value)
        masked = self.text(shown)
        return value if masked == shown else masked
