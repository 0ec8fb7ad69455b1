"""The parameter space of an optimization: `KEY=START:STOP:STEP` ranges, `KEY=a,b,c` lists.

Ranges include their stop and stay integers when start, stop and step are all integers;
decimal steps are counted in `Decimal`, so `0.1:0.3:0.1` gives 0.1, 0.2, 0.3 and not
0.30000000000000004. A single value (`KEY=5`) fixes a parameter. Every combination is
validated by the strategy's own `Params` model before it runs: an invalid one (fast >= slow
for sma_cross) becomes a skipped trial with the model's message, never a crash.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from trading_bot.strategies.base import Strategy
from trading_bot.strategies.registry import StrategyError, parse_params

Scalar = int | float | str
MAX_VALUES = 100_000
"""Values one range may hold at most: a typo in a step must not build a list of billions."""


def parse_scalar(text: str) -> Scalar:
    """`10` -> 10, `0.5` -> 0.5, anything else stays text (pydantic coerces `true`, `fvg`)."""
    text = text.strip()
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            continue
    return text


@dataclass(frozen=True, slots=True)
class ParamSpec:
    name: str
    values: tuple[Scalar, ...]


def parse_spec(text: str) -> ParamSpec:
    """One `--param`: `KEY=START:STOP:STEP`, `KEY=a,b,c` or `KEY=VALUE`."""
    key, sep, value = text.partition("=")
    key = key.strip()
    if not sep or not key or not value.strip():
        raise ValueError(
            f"--param '{text}' is not KEY=VALUE, KEY=START:STOP:STEP or KEY=a,b,c "
            "(for example --param fast=5:20:5)"
        )
    if ":" in value:
        return ParamSpec(key, _range(key, value))
    return ParamSpec(key, tuple(dict.fromkeys(parse_scalar(part) for part in value.split(","))))


def _range(key: str, text: str) -> tuple[Scalar, ...]:
    parts = [part.strip() for part in text.split(":")]
    try:
        if len(parts) != 3:
            raise InvalidOperation
        start, stop, step = (Decimal(part) for part in parts)
    except InvalidOperation:
        raise ValueError(
            f"--param {key}={text}: a range is START:STOP:STEP with numbers, e.g. 5:50:5"
        ) from None
    if step <= 0 or stop < start:
        raise ValueError(f"--param {key}={text}: STEP must be > 0 and STOP >= START")
    count = int((stop - start) / step) + 1
    if count > MAX_VALUES:
        raise ValueError(f"--param {key}={text}: {count:,} values; at most {MAX_VALUES:,}")
    integral = all(value == value.to_integral_value() for value in (start, stop, step))
    values = (start + i * step for i in range(count))
    return tuple(int(v) if integral else float(v) for v in values)


class Space:
    """The cartesian product of the specs, indexed without building it (random sampling of a
    huge grid draws indices, not combinations)."""

    def __init__(self, strategy: type[Strategy], specs: list[ParamSpec]) -> None:
        names = [spec.name for spec in specs]
        repeated = {name for name in names if names.count(name) > 1}
        if repeated:
            raise ValueError(f"--param {sorted(repeated)[0]} is given more than once")
        known = strategy.Params.model_fields
        for name in names:
            if name not in known:
                raise ValueError(
                    f"strategy {strategy.name} has no parameter '{name}' "
                    f"(it has: {', '.join(known) or 'none'})"
                )
        self.strategy = strategy
        self.fixed = {spec.name: spec.values[0] for spec in specs if len(spec.values) == 1}
        self.varying = [spec for spec in specs if len(spec.values) > 1]

    @property
    def size(self) -> int:
        return math.prod(len(spec.values) for spec in self.varying)

    def combination(self, index: int) -> dict[str, Scalar]:
        """The index-th combination in grid order (the last parameter varies fastest)."""
        params = dict(self.fixed)
        for spec in reversed(self.varying):
            index, digit = divmod(index, len(spec.values))
            params[spec.name] = spec.values[digit]
        return {name: params[name] for name in (*self.fixed, *self.names)}

    @property
    def names(self) -> list[str]:
        """The names of the varying parameters, in command-line order."""
        return [spec.name for spec in self.varying]

    def grid(self) -> Iterator[dict[str, Scalar]]:
        return (self.combination(i) for i in range(self.size))

    def sample(self, count: int, seed: int) -> list[dict[str, Scalar]]:
        """`count` distinct combinations drawn at random (seeded), in the order drawn."""
        picks = random.Random(seed).sample(range(self.size), min(count, self.size))
        return [self.combination(i) for i in picks]

    def problem(self, params: dict[str, Any]) -> str | None:
        """Why the strategy rejects these parameters, or None when they are valid."""
        try:
            parse_params(self.strategy, params)
        except StrategyError as exc:
            return str(exc)
        return None
