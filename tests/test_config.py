"""Configuration: defaults, TOML, environment overrides, secrets and one-line error reports."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from pydantic import SecretStr, ValidationError

from trading_bot.config import (
    ConfigError,
    Settings,
    load_settings,
    secret_values,
    settings_summary,
)
from trading_bot.core.secrets import SecretsSection
from trading_bot.core.settings import PipelineSettings, RiskSettings
from trading_bot.redaction import redact_url

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "config.toml"
SECRET = "s3cr3t-t0ken-value"


def write(tmp_path: Path, text: str, name: str = "bot.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def problems(path: Path | None = None, env: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as excinfo:
        load_settings(path, env or {})
    assert str(excinfo.value) == "\n".join(excinfo.value.problems)
    return excinfo.value.problems


# --- a test-only section with a secret, to exercise the mechanism later sections will use --


class ApiSettings(SecretsSection):
    token: SecretStr | None = None
    retries: int = 3


class SettingsWithApi(Settings):
    api: ApiSettings = ApiSettings()


def api_problems(path: Path | None = None, env: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as excinfo:
        SettingsWithApi.load(path, env or {})
    return excinfo.value.problems


# --- defaults and sources --------------------------------------------------------------------


def test_no_file_gives_the_embedded_default_paper_trading_synthetic_data() -> None:
    settings = load_settings(None, {})

    assert settings.bot.mode == "paper"
    assert settings.replay.data == "synthetic"
    assert settings.replay.start == datetime(2024, 1, 1, tzinfo=UTC)
    assert settings.pipeline == PipelineSettings()


def test_toml_values_are_loaded_and_normalised(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        [bot]
        name = "desk-1"
        [replay]
        timeframe = "15m"
        start = 2024-03-01T02:00:00+02:00
        [risk]
        max_open_positions = 2
        [instrument]
        tick_size = "0.01"
        [logging]
        level = "debug"
        file = ""
        """,
    )

    settings = load_settings(path, {})

    assert settings.bot.name == "desk-1"
    assert settings.replay.timeframe == "15m"
    assert settings.replay.start == datetime(2024, 3, 1, 0, 0, tzinfo=UTC)
    assert settings.pipeline.risk.max_open_positions == 2
    assert settings.instrument.tick_size == Decimal("0.01")
    assert settings.logging.level == "DEBUG"
    assert settings.logging.file is None
    assert settings.risk.allow_short is RiskSettings().allow_short  # untouched keys keep defaults


def test_environment_overrides_win_over_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, "[risk]\nmax_open_positions = 2\nallow_short = false\n")

    settings = load_settings(
        path, {"TRADING_BOT_RISK__MAX_OPEN_POSITIONS": "7", "trading_bot_bot__name": "env-bot"}
    )

    assert settings.risk.max_open_positions == 7
    assert settings.risk.allow_short is False  # the file's other keys in the section survive
    assert settings.bot.name == "env-bot"


def test_load_reads_os_environ_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRADING_BOT_PORTFOLIO__STARTING_CASH", "2500")

    assert load_settings().portfolio.starting_cash == 2500.0


def test_live_mode_only_when_set_explicitly(tmp_path: Path) -> None:
    assert load_settings(write(tmp_path, "[bot]\nname = 'x'\n"), {}).bot.mode == "paper"
    assert load_settings(write(tmp_path, "[bot]\nmode = 'live'\n"), {}).bot.mode == "live"
    assert load_settings(None, {"TRADING_BOT_BOT__MODE": "live"}).bot.mode == "live"
    assert problems(None, {"TRADING_BOT_BOT__MODE": "real"}) == [
        "bot.mode = \"real\" (from TRADING_BOT_BOT__MODE): Input should be 'paper' or 'live'"
    ]


def test_settings_are_frozen() -> None:
    settings = load_settings(None, {})

    with pytest.raises(ValidationError):
        settings.bot.mode = "live"  # type: ignore[misc]


def test_example_file_lists_every_key_and_validates_to_the_defaults() -> None:
    text = EXAMPLE.read_text(encoding="utf-8")

    assert load_settings(EXAMPLE, {}) == load_settings(None, {})
    for section, field in Settings.model_fields.items():
        assert f"[{section}]" in text
        assert field.annotation is not None
        for key in field.annotation.model_fields:
            listed = rf"^(# )?{key} = |^\[{section}\.{key}\]$"
            assert re.search(listed, text, re.MULTILINE), f"{section}.{key} is missing"


# --- problems --------------------------------------------------------------------------------


def test_bad_value_names_key_value_and_reason(tmp_path: Path) -> None:
    path = write(tmp_path, "[risk]\nmax_open_positions = 0\n")

    assert problems(path) == [
        "risk.max_open_positions = 0: Input should be greater than or equal to 1"
    ]


def test_unknown_key_is_an_error_with_a_suggestion(tmp_path: Path) -> None:
    path = write(tmp_path, "[risk]\nmax_open_positons = 3\n")

    assert problems(path) == [
        "risk.max_open_positons: unknown key (did you mean 'max_open_positions'?)"
    ]


def test_unknown_key_without_a_close_match_lists_the_valid_keys(tmp_path: Path) -> None:
    path = write(tmp_path, "[execution]\ncolour = 'red'\n")

    assert problems(path) == [
        "execution.colour: unknown key; valid keys here: fee_rate, slippage_bps"
    ]


def test_key_written_above_its_section_header_points_to_the_section(tmp_path: Path) -> None:
    path = write(tmp_path, "mode = 'live'\n[bot]\n")

    assert problems(path) == ["mode: unknown key (did you mean 'bot.mode'?)"]


def test_every_problem_is_reported_once(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "[replay]\ntimeframe = '1x'\ncandles = 0\n[storage]\nflush_interval_s = 'soon'\n",
    )

    assert problems(path) == [
        'replay.timeframe = "1x": expected a count and a unit s, m, h, d or w, '
        "such as 1m, 15m, 4h or 1d",
        "replay.candles = 0: Input should be greater than 0",
        'storage.flush_interval_s = "soon": Input should be a valid number, '
        "unable to parse string as a number",
    ]


def test_config_error_carries_no_pydantic_traceback(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as excinfo:
        load_settings(write(tmp_path, "[risk]\nmax_open_positions = 0\n"), {})

    assert excinfo.value.__cause__ is None
    assert excinfo.value.__context__ is None


@pytest.mark.parametrize("timeframe", ["1s", "1m", "5m", "15m", "1h", "4h", "1d", "1w", "90m"])
def test_valid_timeframes(timeframe: str) -> None:
    assert load_settings(None, {"TRADING_BOT_REPLAY__TIMEFRAME": timeframe}).replay.timeframe == (
        timeframe
    )


@pytest.mark.parametrize("timeframe", ["m", "0m", "1x", "1.5h", "1 m", "1M", "h1"])
def test_invalid_timeframes(timeframe: str) -> None:
    [line] = problems(None, {"TRADING_BOT_REPLAY__TIMEFRAME": timeframe})

    assert line.startswith("replay.timeframe = ")


@pytest.mark.parametrize("data", ["synthetic", "candles.csv", "d/BTC.CSV.GZ", "x.parquet"])
def test_replay_data_accepts_synthetic_or_candle_files(data: str) -> None:
    assert load_settings(None, {"TRADING_BOT_REPLAY__DATA": data}).replay.data == data


def test_replay_data_rejects_other_files() -> None:
    assert problems(None, {"TRADING_BOT_REPLAY__DATA": "candles.xlsx"}) == [
        'replay.data = "candles.xlsx" (from TRADING_BOT_REPLAY__DATA): '
        "expected 'synthetic' or a .csv, .csv.gz or .parquet candle file"
    ]


def test_failing_environment_override_names_the_variable(tmp_path: Path) -> None:
    path = write(tmp_path, "[risk]\nmax_open_positions = 2\n")

    assert problems(path, {"TRADING_BOT_RISK__MAX_OPEN_POSITIONS": "0"}) == [
        'risk.max_open_positions = "0" (from TRADING_BOT_RISK__MAX_OPEN_POSITIONS): '
        "Input should be greater than or equal to 1"
    ]


def test_unknown_key_from_the_environment_names_the_variable() -> None:
    assert problems(None, {"TRADING_BOT_RISK__MAX_OPEN_POSITONS": "3"}) == [
        "risk.max_open_positons (from TRADING_BOT_RISK__MAX_OPEN_POSITONS): "
        "unknown key (did you mean 'max_open_positions'?)"
    ]


def test_environment_variable_for_an_unknown_section_is_an_error() -> None:
    assert problems(None, {"TRADING_BOT_RISKS__MAX_OPEN_POSITIONS": "3"}) == [
        "TRADING_BOT_RISKS__MAX_OPEN_POSITIONS: unknown section 'risks' (did you mean 'risk'?)"
    ]


def test_whole_section_from_the_environment_as_json() -> None:
    env = {"TRADING_BOT_RISK": '{"max_open_positions": 4}'}
    assert load_settings(None, env).risk.max_open_positions == 4

    [line] = problems(None, {"TRADING_BOT_RISK": "{max_open_positions: 4"})
    assert line.startswith("TRADING_BOT_RISK: not valid JSON;")


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.toml"

    assert problems(path) == [f"config file '{path}' not found"]


def test_directory_instead_of_a_file(tmp_path: Path) -> None:
    assert problems(tmp_path) == [f"config file '{tmp_path}' is not a file"]


def test_toml_syntax_error_gives_file_line_and_column(tmp_path: Path) -> None:
    path = write(tmp_path, "[bot]\nname = 'ok'\nmode = \n")

    assert problems(path) == [
        f"config file '{path}' is not valid TOML at line 3, column 8: Invalid value; "
        "fix the syntax there (see https://toml.io)"
    ]


def test_file_that_is_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin1.toml"
    path.write_bytes("[bot]\nname = 'café'\n".encode("latin-1"))

    assert problems(path) == [f"config file '{path}' is not UTF-8 text; save it as UTF-8"]


# --- secrets ---------------------------------------------------------------------------------


def test_secret_from_a_file_is_read_and_stripped(tmp_path: Path) -> None:
    secret_file = write(tmp_path, f"  {SECRET}\n", name="token")
    config = write(tmp_path, f"[api]\ntoken_file = '{secret_file}'\n")

    settings = SettingsWithApi.load(config, {})

    assert settings.api.token is not None
    assert settings.api.token.get_secret_value() == SECRET


def test_secret_file_from_the_environment(tmp_path: Path) -> None:
    secret_file = write(tmp_path, SECRET, name="token")

    settings = SettingsWithApi.load(None, {"TRADING_BOT_API__TOKEN_FILE": str(secret_file)})

    assert settings.api.token == SecretStr(SECRET)


def test_secret_from_the_environment() -> None:
    settings = SettingsWithApi.load(None, {"TRADING_BOT_API__TOKEN": SECRET})

    assert settings.api.token == SecretStr(SECRET)


def test_unreadable_secret_file_names_the_key_and_path(tmp_path: Path) -> None:
    missing = tmp_path / "missing-token"

    assert api_problems(None, {"TRADING_BOT_API__TOKEN_FILE": str(missing)}) == [
        f'api.token_file = "{missing}" (from TRADING_BOT_API__TOKEN_FILE): cannot read the '
        "secret file (No such file or directory); check the path and that the bot's user may "
        "read it"
    ]


def test_empty_secret_file_is_an_error(tmp_path: Path) -> None:
    secret_file = write(tmp_path, " \n", name="token")
    config = write(tmp_path, f"[api]\ntoken_file = '{secret_file}'\n")

    [line] = api_problems(config)
    assert line.startswith("api.token_file = ") and line.endswith("the secret file is empty")


def test_secret_and_secret_file_together_is_an_error(tmp_path: Path) -> None:
    secret_file = write(tmp_path, SECRET, name="token")
    env = {"TRADING_BOT_API__TOKEN": "inline", "TRADING_BOT_API__TOKEN_FILE": str(secret_file)}

    assert api_problems(None, env) == [
        "api.token_file (from TRADING_BOT_API__TOKEN_FILE): "
        "give either 'token' or 'token_file', not both"
    ]


def test_secret_values_never_appear_in_config_errors(tmp_path: Path) -> None:
    config = write(
        tmp_path,
        f"""
        [api]
        token = 123456789
        [storage]
        flush_interval_s = "postgresql://trader:{SECRET}@db/x"
        """,
    )

    assert api_problems(config) == [
        'storage.flush_interval_s = "postgresql://trader:***@db/x": Input should be a valid '
        "number, unable to parse string as a number",
        "api.token = ***: Input should be a valid string",
    ]


def test_typo_in_a_secret_file_key_suggests_it(tmp_path: Path) -> None:
    assert api_problems(write(tmp_path, "[api]\ntokn_file = 'x'\n")) == [
        "api.tokn_file: unknown key (did you mean 'token_file'?)"
    ]


def test_secret_values_collects_secrets_and_url_passwords() -> None:
    settings = SettingsWithApi.load(
        None,
        {
            "TRADING_BOT_API__TOKEN": SECRET,
            "TRADING_BOT_STORAGE__DATABASE_URL": "postgresql://trader:pa55@db/bot",
        },
    )

    assert sorted(secret_values(settings)) == sorted([SECRET, "pa55"])
    assert secret_values(load_settings(None, {})) == []


def test_settings_summary_masks_secrets() -> None:
    settings = SettingsWithApi.load(
        None,
        {
            "TRADING_BOT_API__TOKEN": SECRET,
            "TRADING_BOT_STORAGE__DATABASE_URL": "postgresql://trader:pa55@db/bot",
        },
    )

    summary = settings_summary(settings)

    assert summary["api"]["token"] == "***"
    assert summary["storage"]["database_url"] == "postgresql://trader:***@db/bot"
    assert summary["bot"]["mode"] == "paper"
    assert summary["instrument"]["tick_size"] == "0.00001"
    dumped = json.dumps(summary)
    assert SECRET not in dumped and "pa55" not in dumped


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("postgresql://trader:pa55@db/bot", "postgresql://trader:***@db/bot"),
        ("postgresql+psycopg://u:p%40ss@h:5432/d", "postgresql+psycopg://u:***@h:5432/d"),
        ("connect to redis://:pw@cache/0 now", "connect to redis://:***@cache/0 now"),
        ("sqlite:///trading_bot.sqlite", "sqlite:///trading_bot.sqlite"),
        ("postgresql://trader@db/bot", "postgresql://trader@db/bot"),
    ],
)
def test_redact_url(text: str, expected: str) -> None:
    assert redact_url(text) == expected


def test_the_binance_paper_example_validates() -> None:
    from pathlib import Path

    from trading_bot.config import load_settings

    example = Path(__file__).resolve().parents[1] / "examples" / "binance-paper.toml"
    settings = load_settings(example, env={})
    assert (settings.bot.venue, settings.bot.mode) == ("binance", "paper")
    assert settings.binance.rest_url == "https://api.binance.com"


def test_the_binance_live_example_starts_on_the_testnet_and_takes_its_key_from_files(
    tmp_path: Path,
) -> None:
    example = Path(__file__).resolve().parents[1] / "examples" / "binance-live.toml"
    key, secret = tmp_path / "key", tmp_path / "secret"
    key.write_text("the-key\n")
    secret.write_text("the-secret\n")
    env = {
        "TRADING_BOT_BINANCE__API_KEY_FILE": str(key),
        "TRADING_BOT_BINANCE__API_SECRET_FILE": str(secret),
    }
    settings = load_settings(example, env=env)
    assert (settings.bot.venue, settings.bot.mode) == ("binance", "live")
    assert settings.binance.rest_url == "https://testnet.binance.vision"
    assert settings.binance.api_key is not None and settings.binance.api_secret is not None
    assert settings.binance.api_key.get_secret_value() == "the-key"
    assert settings.binance.api_secret.get_secret_value() == "the-secret"
    assert not settings.risk.allow_short
    assert "the-secret" not in repr(settings) and "the-secret" in secret_values(settings)


def test_sync_mode_has_the_specifications_short_variable() -> None:
    assert load_settings(None, {"TRADING_BOT_SYNC_MODE": "true"}).bot.sync_mode is True
    both = {"TRADING_BOT_SYNC_MODE": "true", "TRADING_BOT_BOT__SYNC_MODE": "false"}
    assert load_settings(None, both).bot.sync_mode is False  # the full name wins
    assert load_settings(None, {}).bot.sync_mode is False


def test_the_oanda_paper_example_validates_on_the_practice_environment() -> None:
    example = Path(__file__).resolve().parents[1] / "examples" / "oanda-paper.toml"
    settings = load_settings(example, env={"TRADING_BOT_OANDA__TOKEN": "t0ken"})
    assert (settings.bot.venue, settings.bot.mode) == ("oanda", "paper")
    assert settings.oanda.rest_url == "https://api-fxpractice.oanda.com"
    assert settings.oanda.token is not None and "t0ken" in secret_values(settings)


def test_the_universe_needs_the_binance_venue(tmp_path: Path) -> None:
    path = write(tmp_path, '[bot]\nvenue = "oanda"\n\n[services.universe]\nenabled = true\n')
    assert problems(path) == [
        'services.universe.enabled = true ranks Binance symbols, but bot.venue = "oanda": '
        'set bot.venue = "binance" or turn the universe off'
    ]
    assert load_settings(path, {"TRADING_BOT_BOT__VENUE": "binance"}).services.universe.enabled
