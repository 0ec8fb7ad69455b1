"""The API token: configured (environment or file), else generated once into an owner-only
file and kept across restarts; never shown by the settings."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from pydantic import SecretStr, ValidationError

from trading_bot.api.settings import ApiSettings
from trading_bot.api.token import TokenFileError, resolve_token


def test_a_configured_token_wins_and_nothing_is_written(tmp_path: Path) -> None:
    kept = tmp_path / "api_token"
    token = resolve_token(ApiSettings(token=SecretStr("x" * 20), generated_token_path=kept))
    assert token.value.get_secret_value() == "x" * 20 and token.generated is None
    assert not kept.exists()


def test_a_token_is_generated_once_owner_only_and_then_kept(tmp_path: Path) -> None:
    settings = ApiSettings(generated_token_path=tmp_path / "state" / "api_token")
    first = resolve_token(settings)
    assert first.generated == settings.generated_token_path
    assert len(first.value.get_secret_value()) >= 40
    assert stat.S_IMODE(settings.generated_token_path.stat().st_mode) == 0o600
    again = resolve_token(settings)
    assert again.generated is None and again.value == first.value  # a restart keeps it


def test_a_token_file_others_may_read_is_refused(tmp_path: Path) -> None:
    kept = tmp_path / "api_token"
    kept.write_text("y" * 40)
    kept.chmod(0o644)
    with pytest.raises(TokenFileError, match="may be read by other users: chmod 600"):
        resolve_token(ApiSettings(generated_token_path=kept))
    kept.chmod(0o600)
    kept.write_text("short")
    with pytest.raises(TokenFileError, match="holds no usable token"):
        resolve_token(ApiSettings(generated_token_path=kept))


def test_settings_take_the_token_from_a_file_and_hide_it(tmp_path: Path) -> None:
    secret = tmp_path / "token.txt"
    secret.write_text("z" * 32 + "\n")
    settings = ApiSettings.model_validate({"token_file": str(secret)})
    assert settings.token is not None and settings.token.get_secret_value() == "z" * 32
    assert "z" * 32 not in repr(settings)
    with pytest.raises(ValidationError, match="at least 16 characters"):
        ApiSettings(token=SecretStr("short"))
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        ApiSettings.model_validate({"prot": 8080})
