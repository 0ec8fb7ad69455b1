"""Secrets in settings: `SecretStr` fields that may also be given as a file to read.

Any section (the core's or a venue's) can hold API keys and tokens this way without importing
the configuration loader; errors name the key, and the loader turns them into one line each.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, get_args

from pydantic import SecretStr, model_validator
from pydantic_core import PydanticCustomError

from trading_bot.core.settings import Section

KEYED_ERROR = "config_key"  # a validation error about `ctx["key"]` inside the failing model
NOT_GIVEN = object()


def keyed_error(key: str, message: str, value: object = NOT_GIVEN) -> PydanticCustomError:
    """An error about `key` of the model being validated; `value`, if given, is shown."""
    context: dict[str, object] = (
        {"key": key} if value is NOT_GIVEN else {"key": key, "value": value}
    )
    return PydanticCustomError(KEYED_ERROR, message, context)


def mentions_secret(annotation: object) -> bool:
    return annotation is SecretStr or any(mentions_secret(arg) for arg in get_args(annotation))


def _read_secret_file(key: str, path: object) -> str:
    if not isinstance(path, str):
        raise keyed_error(key, "expected the path of a file holding the secret", path)
    try:
        secret = Path(path).expanduser().read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise keyed_error(
            key,
            f"cannot read the secret file ({exc.strerror}); "
            "check the path and that the bot's user may read it",
            path,
        ) from None
    except UnicodeDecodeError:
        raise keyed_error(key, "the secret file is not UTF-8 text", path) from None
    if not secret:
        raise keyed_error(key, "the secret file is empty", path)
    return secret


class SecretsSection(Section):
    """A section whose `SecretStr` fields may also be given as `<name>_file`, a path to read.

    Secrets then live in files only the bot's user can read (systemd credentials, Docker secrets)
    or in environment variables, never in the TOML file.
    """

    @classmethod
    def secret_fields(cls) -> list[str]:
        return [
            name for name, field in cls.model_fields.items() if mentions_secret(field.annotation)
        ]

    @model_validator(mode="before")
    @classmethod
    def _read_secret_files(cls, data: Any) -> Any:
        if not isinstance(data, Mapping):
            return data
        data = dict(data)
        for name in cls.secret_fields():
            file_key = f"{name}_file"
            if file_key not in data:
                continue
            path = data.pop(file_key)
            if name in data:
                raise keyed_error(file_key, f"give either '{name}' or '{file_key}', not both")
            data[name] = _read_secret_file(file_key, path)
        return data
