"""The API's bearer token: the configured one, or one generated once and kept in a file only
the bot's user can read, so that a restart keeps working clients working."""

from __future__ import annotations

import os
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path

from pydantic import SecretStr

from trading_bot.api.settings import MIN_TOKEN_LENGTH, ApiSettings


class TokenFileError(Exception):
    """The generated-token file cannot be used; the message says what to do."""


@dataclass(frozen=True, slots=True)
class ApiToken:
    value: SecretStr
    generated: Path | None = None  # the file a token was just generated into (print it once)


def resolve_token(settings: ApiSettings) -> ApiToken:
    """The configured token; else the one kept in `generated_token_path`; else a new one."""
    if settings.token is not None:
        return ApiToken(settings.token)
    path = settings.generated_token_path
    kept = _read_kept(path)
    if kept is not None:
        return ApiToken(SecretStr(kept))
    token = secrets.token_urlsafe(32)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as exc:
        raise TokenFileError(
            f"cannot create the API token file {path} ({exc.strerror}); set "
            "api.generated_token_path to a writable place, or give api.token"
        ) from None
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write(token + "\n")
    return ApiToken(SecretStr(token), generated=path)


def _read_kept(path: Path) -> str | None:
    try:
        mode = path.stat().st_mode
        text = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise TokenFileError(
            f"cannot read the API token file {path} ({exc}); fix it or delete it to get a new one"
        ) from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise TokenFileError(
            f"the API token file {path} may be read by other users: chmod 600 it, or delete it "
            "to get a new token"
        )
    if len(text) < MIN_TOKEN_LENGTH:
        raise TokenFileError(
            f"the API token file {path} holds no usable token: delete it to get a new one"
        )
    return text
