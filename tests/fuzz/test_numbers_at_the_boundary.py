"""NaN and infinity are refused wherever a number enters the configuration: every float key of
every section, from the file or the environment, and every float parameter of the built-in
strategies; each refusal names the key. (Venue frames and replies: test_edge_parsers; the
API's parameters and command bodies: tests/api/test_hostile_requests; Telegram's command
arguments: tests/notify/test_telegram_arguments.)"""

from __future__ import annotations

import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Union, get_args, get_origin

import pytest
from pydantic import BaseModel

from trading_bot.config import (
    ENV_NESTED_DELIMITER,
    ENV_PREFIX,
    ConfigError,
    Settings,
    load_settings,
)
from trading_bot.strategies.registry import StrategyError, load_strategy_class, parse_params

IMPOSSIBLE = ["inf", "-inf", "nan"]  # as TOML writes them


def _float_keys(model: type[BaseModel], prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    """The dotted path of every float setting, through nested sections."""
    for name, field in model.model_fields.items():
        annotation = field.annotation
        kinds = get_args(annotation) if get_origin(annotation) in (Union, types.UnionType) else ()
        kinds = kinds or (annotation,)
        if float in kinds:
            yield (*prefix, name)
        for kind in kinds:
            if isinstance(kind, type) and issubclass(kind, BaseModel):
                yield from _float_keys(kind, (*prefix, name))


FLOAT_KEYS = sorted(_float_keys(Settings))


def _refused(problems: list[str], key: tuple[str, ...]) -> bool:
    dotted = ".".join(key)
    return any(p.startswith(f"{dotted} = ") and "finite number" in p for p in problems)


def test_the_configuration_has_float_keys_to_check() -> None:
    assert ("portfolio", "starting_cash") in FLOAT_KEYS and ("risk", "max_leverage") in FLOAT_KEYS
    assert len(FLOAT_KEYS) >= 20


@pytest.mark.parametrize("value", IMPOSSIBLE)
def test_nan_and_infinity_in_the_file_are_refused_naming_the_key(
    tmp_path: Path, value: str
) -> None:
    unrefused = []
    for key in FLOAT_KEYS:
        path = tmp_path / "bot.toml"
        path.write_text(f"[{'.'.join(key[:-1])}]\n{key[-1]} = {value}\n")
        try:
            load_settings(path, {})
        except ConfigError as exc:
            if _refused(exc.problems, key):
                continue
        unrefused.append(".".join(key))
    assert unrefused == []


def test_nan_and_infinity_in_the_environment_are_refused_naming_the_key() -> None:
    for key in FLOAT_KEYS:
        name = ENV_PREFIX + ENV_NESTED_DELIMITER.join(key).upper()
        for value in ("Infinity", "NaN"):
            with pytest.raises(ConfigError) as refused:
                load_settings(None, {name: value})
            assert _refused(refused.value.problems, key), (name, refused.value.problems)


def test_nan_and_infinity_strategy_parameters_are_refused() -> None:
    cls = load_strategy_class("ict")  # sma_cross has whole numbers only
    floats = [name for name, field in cls.Params.model_fields.items() if field.annotation is float]
    assert "r_multiple" in floats
    for name in floats:
        for value in [*IMPOSSIBLE, float("inf"), float("nan")]:
            raw: dict[str, Any] = {name: value}
            with pytest.raises(StrategyError, match=f"parameter {name} = .*finite number"):
                parse_params(cls, raw)
