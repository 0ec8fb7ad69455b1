"""The bot's configuration: one TOML file plus `TRADING_BOT_<SECTION>__<KEY>` environment overrides.

The environment wins over the file and the file over the embedded defaults, which paper trade on
synthetic replay data. Every model is frozen and rejects unknown keys, and every problem becomes one
line naming the key, so a typo stops the bot at start instead of turning into a silent default.
"""

from __future__ import annotations

import difflib
import json
import os
import re
import tomllib
from collections.abc import Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, Literal, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    Field,
    SecretStr,
    ValidationError,
    model_validator,
)
from pydantic_core import ErrorDetails
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
    TomlConfigSettingsSource,
)
from pydantic_settings.sources.utils import parse_env_vars

from trading_bot.api.settings import ApiSettings
from trading_bot.core.errors import UserError
from trading_bot.core.secrets import KEYED_ERROR, NOT_GIVEN, SecretsSection, mentions_secret
from trading_bot.core.settings import (
    ExecutionSettings,
    InstrumentSettings,
    PipelineSettings,
    PortfolioSettings,
    RiskSettings,
    Section,
    StrategySettings,
)
from trading_bot.notify.discord_config import DiscordSettings
from trading_bot.notify.telegram_config import TelegramSettings
from trading_bot.redaction import MASK, Redactor, is_sensitive_key, redact_url, url_passwords
from trading_bot.services.settings import ServicesSettings
from trading_bot.venues.binance.config import BinanceSettings
from trading_bot.venues.oanda.config import OandaSettings

ENV_PREFIX = "TRADING_BOT_"
ENV_NESTED_DELIMITER = "__"


class ConfigError(UserError):
    """The configuration is unusable; `problems` holds one line per problem, ready for a user."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def secret_values(settings: BaseModel) -> list[str]:
    """Every secret held by `settings` (SecretStr fields, URL passwords), for the log redactor."""
    found: list[str] = []
    for name in type(settings).model_fields:
        value = getattr(settings, name)
        if isinstance(value, BaseModel):
            found += secret_values(value)
        elif isinstance(value, SecretStr):
            found.append(value.get_secret_value())
        elif isinstance(value, str):
            found += url_passwords(value)
    return [secret for secret in found if secret]


# --- sections --------------------------------------------------------------------------------

_TIMEFRAME = re.compile(r"[1-9][0-9]*[smhdw]")
_CANDLE_FILE_SUFFIXES = (".csv", ".csv.gz", ".parquet")


def _check_timeframe(value: str) -> str:
    if not _TIMEFRAME.fullmatch(value):
        raise ValueError("expected a count and a unit s, m, h, d or w, such as 1m, 15m, 4h or 1d")
    return value


def _check_replay_data(value: str) -> str:
    if value != "synthetic" and not value.lower().endswith(_CANDLE_FILE_SUFFIXES):
        raise ValueError("expected 'synthetic' or a .csv, .csv.gz or .parquet candle file")
    return value


def _as_utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _blank_as_none(value: object) -> object:
    """TOML has no null: an empty string switches an optional path off."""
    return None if value == "" else value


def _upper(value: object) -> object:
    return value.upper() if isinstance(value, str) else value


OptionalPath = Annotated[Path | None, BeforeValidator(_blank_as_none)]


class BotSettings(Section):
    """The bot as a whole: trading mode and lifecycle."""

    mode: Literal["paper", "live"] = Field(
        "paper", description="'live' sends real orders; never the default"
    )
    name: str = Field("trading-bot", description="shown in notifications and logs")
    venue: Literal["replay", "binance", "oanda"] = Field(
        "replay", description="where market data comes from: the replay, Binance spot or OANDA"
    )
    close_positions_on_shutdown: bool = Field(
        False, description="flatten open positions when the bot stops"
    )
    shutdown_timeout_s: float = Field(
        5.0, gt=0, description="seconds the components get to stop cleanly"
    )
    sync_mode: bool = Field(
        False,
        description="no WebSocket or stream: poll candles over REST at each close "
        "(also TRADING_BOT_SYNC_MODE=true)",
    )
    health_file: OptionalPath = Field(
        Path("trading_bot.health.json"),
        description='health report rewritten every 5 s, read by `trading-bot health`; "" none',
    )
    heartbeat_interval_s: float = Field(
        3600.0, ge=0, description="seconds between heartbeat notifications; 0: none"
    )


class ReplaySettings(Section):
    """Candles replayed by the paper and backtest drivers."""

    data: Annotated[str, AfterValidator(_check_replay_data)] = Field(
        "synthetic", description="'synthetic', or a CSV, CSV.gz or Parquet candle file"
    )
    symbol: str = Field("SYN/USD", description="symbol the replayed candles are traded as")
    timeframe: Annotated[str, AfterValidator(_check_timeframe)] = Field(
        "1m", description="candle length: a count and s, m, h, d or w"
    )
    seed: int = Field(42, description="random seed of the synthetic candles")
    candles: int = Field(20_000, gt=0, description="number of synthetic candles")
    start: Annotated[datetime, AfterValidator(_as_utc)] = Field(
        datetime(2024, 1, 1, tzinfo=UTC),
        description="time of the first synthetic candle (UTC when no offset is given)",
    )
    speed: float = Field(50.0, ge=0, description="candles per second; 0: as fast as possible")
    updates_per_candle: int = Field(
        4, ge=1, description="updates streamed per candle, the last one closing it"
    )


class StorageSettings(Section):
    """Where orders, fills and equity are persisted; the URL's password is a secret."""

    database_url: str = Field(
        "sqlite:///trading_bot.sqlite", description="SQLAlchemy URL; SQLite or PostgreSQL"
    )
    flush_interval_s: float = Field(0.5, gt=0, description="seconds between database writes")


class LoggingSettings(Section):
    """Console, JSON-lines file and audit-trail logging (see `trading_bot.logs`)."""

    level: Annotated[Literal["DEBUG", "INFO", "WARNING", "ERROR"], BeforeValidator(_upper)] = Field(
        "INFO", description="least severe level logged"
    )
    console_format: Literal["pretty", "json"] = Field(
        "pretty", description="stderr output: for people, or JSON lines"
    )
    file: OptionalPath = Field(
        Path("logs/trading-bot.jsonl"), description='JSON-lines log file; "" for none'
    )
    audit_file: OptionalPath = Field(
        Path("logs/audit.jsonl"), description='JSON-lines audit trail; "" for none'
    )
    max_bytes: int = Field(10_000_000, ge=0, description="size that rotates a file; 0: never")
    backup_count: int = Field(5, ge=1, description="rotated files kept per log")


# --- loading ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Sources:
    """Where the settings being loaded come from; a context variable carries it to pydantic."""

    path: Path | None = None
    env: Mapping[str, str] | None = None  # None: os.environ


_SOURCES: ContextVar[_Sources] = ContextVar("trading_bot_config_sources")


class _MappingEnvSource(EnvSettingsSource):
    """Environment overrides read from a given mapping, so loading never depends on hidden state."""

    def __init__(self, settings_cls: type[BaseSettings], env: Mapping[str, str]) -> None:
        self._env = env
        super().__init__(settings_cls)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        return parse_env_vars(
            self._env, self.case_sensitive, self.env_ignore_empty, self.env_parse_none_str
        )


class Settings(BaseSettings):
    """The whole configuration; every section has working defaults."""

    model_config = SettingsConfigDict(
        frozen=True,
        extra="forbid",
        env_prefix=ENV_PREFIX,
        env_nested_delimiter=ENV_NESTED_DELIMITER,
    )

    bot: BotSettings = BotSettings()
    replay: ReplaySettings = ReplaySettings()
    binance: BinanceSettings = BinanceSettings()
    oanda: OandaSettings = OandaSettings()
    strategy: StrategySettings = StrategySettings()
    risk: RiskSettings = RiskSettings()
    execution: ExecutionSettings = ExecutionSettings()
    portfolio: PortfolioSettings = PortfolioSettings()
    instrument: InstrumentSettings = InstrumentSettings()
    storage: StorageSettings = StorageSettings()
    logging: LoggingSettings = LoggingSettings()
    telegram: TelegramSettings = TelegramSettings()
    discord: DiscordSettings = DiscordSettings()
    api: ApiSettings = ApiSettings()
    services: ServicesSettings = ServicesSettings()

    @model_validator(mode="after")
    def _universe_needs_binance(self) -> Self:
        if self.services.universe.enabled and self.bot.venue != "binance":
            raise ValueError(
                f"services.universe.enabled = true ranks Binance symbols, but bot.venue = "
                f'"{self.bot.venue}": set bot.venue = "binance" or turn the universe off'
            )
        return self

    @property
    def pipeline(self) -> PipelineSettings:
        """The sections the trading pipeline needs, the same for backtest, paper and live."""
        return PipelineSettings(
            strategy=self.strategy,
            risk=self.risk,
            execution=self.execution,
            portfolio=self.portfolio,
            instrument=self.instrument,
        )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources = _SOURCES.get(_Sources())
        env = os.environ if sources.env is None else sources.env
        return (
            init_settings,
            _MappingEnvSource(settings_cls, env),
            TomlConfigSettingsSource(settings_cls, sources.path),
        )

    @classmethod
    def load(cls, path: Path | None = None, env: Mapping[str, str] | None = None) -> Self:
        """`cls` from the TOML file at `path` (None: defaults only) and `env` (None: os.environ).

        Raises ConfigError listing every problem found.
        """
        env = _with_aliases(os.environ if env is None else env)
        if path is not None and not path.is_file():
            what = "is not a file" if path.exists() else "not found"
            raise ConfigError([f"config file '{path}' {what}"])
        problems = _unknown_env_sections(cls, env)
        token = _SOURCES.set(_Sources(path, env))
        try:
            settings = cls()
        except ValidationError as exc:
            problems += _validation_problems(cls, exc, env)
        except tomllib.TOMLDecodeError as exc:
            problems.append(_toml_problem(path, exc))
        except UnicodeDecodeError:
            problems.append(f"config file '{path}' is not UTF-8 text; save it as UTF-8")
        except OSError as exc:
            problems.append(f"cannot read config file '{path}': {exc.strerror}")
        except SettingsError as exc:
            problems.append(_env_json_problem(exc, env))
        finally:
            _SOURCES.reset(token)
        if problems:
            raise ConfigError(problems)
        return settings


# Short environment names, as the original specification has them, for nested keys.
ENV_ALIASES = {"TRADING_BOT_SYNC_MODE": "TRADING_BOT_BOT__SYNC_MODE"}


def _with_aliases(env: Mapping[str, str]) -> Mapping[str, str]:
    found = {full: env[short] for short, full in ENV_ALIASES.items() if short in env}
    return {**env, **{k: v for k, v in found.items() if k not in env}} if found else env


def load_settings(path: Path | None = None, env: Mapping[str, str] | None = None) -> Settings:
    """The settings from the TOML file at `path` and `env` (default os.environ) over defaults."""
    return Settings.load(path, env)


def settings_summary(settings: BaseModel) -> dict[str, Any]:
    """The effective configuration as plain data, with every secret masked, to show people."""
    summary: dict[str, Any] = Redactor(secret_values(settings)).value(
        settings.model_dump(mode="json")
    )
    return summary


# --- problem reports -------------------------------------------------------------------------

_TOML_POSITION = re.compile(r"(?P<why>.*) \((?P<where>at .*)\)")


def _toml_problem(path: Path | None, exc: tomllib.TOMLDecodeError) -> str:
    match = _TOML_POSITION.fullmatch(str(exc))
    why, where = (match["why"], match["where"]) if match else (str(exc), "")
    return (
        f"config file '{path}' is not valid TOML {where}: {why}; "
        "fix the syntax there (see https://toml.io)"
    )


def _env_json_problem(exc: SettingsError, env: Mapping[str, str]) -> str:
    """pydantic-settings names only the field whose variable holds malformed JSON."""
    match = re.search(r'field "(?P<field>\w+)"', str(exc))
    var = _env_var((match["field"],), env) if match else None
    return (
        f"{var or exc}: not valid JSON; a variable setting a whole section must hold a JSON "
        'object such as {"key": "value"}, or set each key as '
        f"{ENV_PREFIX}<SECTION>{ENV_NESTED_DELIMITER}<KEY>"
    )


def _model_at(schema: type[BaseModel], loc: tuple[int | str, ...]) -> type[BaseModel] | None:
    """The model class found by following the field names in `loc` from `schema`."""
    model: object = schema
    for part in loc:
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            return None
        field = model.model_fields.get(str(part))
        if field is None:
            return None
        model = field.annotation
    return model if isinstance(model, type) and issubclass(model, BaseModel) else None


def _suggestion(schema: type[BaseModel], loc: tuple[int | str, ...]) -> str:
    parent = _model_at(schema, loc[:-1])
    if parent is None:
        return ""
    name = str(loc[-1])
    keys = list(parent.model_fields)
    if issubclass(parent, SecretsSection):
        keys += [f"{secret}_file" for secret in parent.secret_fields()]
    close = difflib.get_close_matches(name, keys, n=1)
    if not close and parent is schema:  # a key written above its [section] header
        close = [
            f"{section}.{name}"
            for section in schema.model_fields
            if (model := _model_at(schema, (section,))) and name in model.model_fields
        ]
    if close:
        return f" (did you mean '{close[0]}'?)"
    return f"; valid keys here: {', '.join(keys)}"


def _is_secret(schema: type[BaseModel], loc: tuple[int | str, ...]) -> bool:
    parent = _model_at(schema, loc[:-1])
    field = parent.model_fields.get(str(loc[-1])) if parent else None
    return is_sensitive_key(str(loc[-1])) or (
        field is not None and mentions_secret(field.annotation)
    )


def _shown(value: object) -> str:
    if isinstance(value, str):
        value = redact_url(value)
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 80 else text[:79] + "…"


def _env_var(loc: tuple[int | str, ...], env: Mapping[str, str]) -> str | None:
    """The environment variable that set the value at `loc`, if one did."""
    names = {name.upper(): name for name in env}
    for end in range(len(loc), 0, -1):
        candidate = ENV_PREFIX + ENV_NESTED_DELIMITER.join(map(str, loc[:end]))
        if candidate.upper() in names:
            return names[candidate.upper()]
    return None


def _from_env(data: Mapping[str, Any], loc: tuple[int | str, ...]) -> bool:
    node: Any = data
    for part in loc:
        if not isinstance(node, Mapping) or part not in node:
            return False
        node = node[part]
    return True


def _validation_problems(
    schema: type[BaseSettings], error: ValidationError, env: Mapping[str, str]
) -> list[str]:
    env_data = _MappingEnvSource(schema, env)()
    problems = []
    for detail in error.errors(include_url=False):
        line = _problem(schema, detail, env_data, env)
        if line not in problems:
            problems.append(line)
    return problems


def _problem(
    schema: type[BaseModel],
    detail: ErrorDetails,
    env_data: Mapping[str, Any],
    env: Mapping[str, str],
) -> str:
    """One line: the dotted key, where it was set, the value unless secret, and what is wrong."""
    loc, value = detail["loc"], detail.get("input", NOT_GIVEN)
    if detail["type"] == KEYED_ERROR:
        context = detail.get("ctx", {})
        loc, value = (*loc, context["key"]), context.get("value", NOT_GIVEN)
    var = _env_var(loc, env) if _from_env(env_data, loc) else None
    origin = f" (from {var})" if var else ""
    key = ".".join(map(str, loc))
    why = detail["msg"].removeprefix("Value error, ")
    if not key:  # a rule across sections: its message names the keys
        return why
    if detail["type"] == "extra_forbidden":
        return f"{key}{origin}: unknown key{_suggestion(schema, loc)}"
    if detail["type"] == "missing" or value is NOT_GIVEN:
        return f"{key}{origin}: {why}"
    shown = MASK if _is_secret(schema, loc) else _shown(value)
    return f"{key} = {shown}{origin}: {why}"


def _unknown_env_sections(schema: type[BaseModel], env: Mapping[str, str]) -> list[str]:
    """`TRADING_BOT_<SECTION>__<KEY>` variables naming no section, which pydantic would ignore."""
    problems = []
    for var in env:
        if not var.upper().startswith(ENV_PREFIX):
            continue
        section, nested, _ = var[len(ENV_PREFIX) :].lower().partition(ENV_NESTED_DELIMITER)
        if nested and section not in schema.model_fields:
            problems.append(f"{var}: unknown section '{section}'{_suggestion(schema, (section,))}")
    return problems
