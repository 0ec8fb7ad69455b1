"""Finding strategies by name: the built-ins, or a user's class from a module or a file."""

from __future__ import annotations

import importlib
import importlib.util
import inspect
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from trading_bot.core.errors import UserError
from trading_bot.strategies.base import Strategy, StrategyParams

# Built-in strategies by name, imported when used (ict pulls in numba, slow to import).
BUILT_IN = {
    "sma_cross": "trading_bot.strategies.sma_cross:SmaCross",
    "ict": "trading_bot.strategies.ict.strategy:Ict",
}


class StrategyError(UserError):
    """A strategy that cannot be found or whose parameters are wrong; the message says why."""


def load_strategy_class(name: str) -> type[Strategy]:
    """A built-in name (`sma_cross`, `ict`), `package.module:Class`, or `path/to/file.py:Class`."""
    name = BUILT_IN.get(name, name)
    if ":" not in name:
        known = ", ".join(sorted(BUILT_IN))
        raise StrategyError(
            f"unknown strategy '{name}': use a built-in ({known}), 'package.module:Class' "
            "or 'path/to/file.py:Class'"
        )
    where, _, class_name = name.rpartition(":")
    module = _import_file(Path(where)) if where.endswith(".py") else _import_module(where)
    found = getattr(module, class_name, None)
    if not (inspect.isclass(found) and issubclass(found, Strategy)):
        raise StrategyError(f"'{class_name}' in '{where}' is not a Strategy subclass")
    return found


def _import_module(module_name: str) -> Any:
    try:
        return importlib.import_module(module_name)
    except ImportError as exc:
        raise StrategyError(f"cannot import strategy module '{module_name}': {exc}") from None


def _import_file(path: Path) -> Any:
    if not path.is_file():
        raise StrategyError(f"strategy file '{path}' not found")
    spec = importlib.util.spec_from_file_location(f"user_strategy_{path.stem}", path)
    if spec is None or spec.loader is None:
        raise StrategyError(f"cannot load strategy file '{path}'")
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        raise StrategyError(f"strategy file '{path}' failed to load: {exc}") from None
    return module


def parse_params(cls: type[Strategy], params: dict[str, Any]) -> StrategyParams:
    """Validate raw parameters (strings from the command line are coerced)."""
    try:
        return cls.Params.model_validate(params)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            key = ".".join(str(p) for p in error["loc"]) or "params"
            value = f" = {error['input']!r}" if error["type"] != "missing" and error["loc"] else ""
            message = error["msg"].removeprefix("Value error, ")
            problems.append(f"strategy {cls.name} parameter {key}{value}: {message}")
        raise StrategyError("; ".join(problems)) from None


def build_strategy(name: str, params: dict[str, Any], symbol: str, timeframe_ms: int) -> Strategy:
    cls = load_strategy_class(name)
    return cls(parse_params(cls, params), symbol, timeframe_ms)
