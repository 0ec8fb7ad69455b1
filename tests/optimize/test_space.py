from __future__ import annotations

import pytest

from trading_bot.optimize.search import DEFAULT_TRIALS, Method, planned_trials
from trading_bot.optimize.space import Space, parse_spec
from trading_bot.strategies.ict.strategy import Ict
from trading_bot.strategies.sma_cross import SmaCross


def test_integer_ranges_include_the_stop_and_stay_integers() -> None:
    spec = parse_spec("fast=5:20:5")
    assert spec.values == (5, 10, 15, 20)
    assert all(type(value) is int for value in spec.values)


def test_decimal_ranges_are_counted_exactly() -> None:
    assert parse_spec("r_multiple=0.1:0.3:0.1").values == (0.1, 0.2, 0.3)


def test_lists_and_fixed_values() -> None:
    assert parse_spec("entry=fvg,ob").values == ("fvg", "ob")
    assert parse_spec("slow = 30").values == (30,)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("fast", "is not KEY=VALUE"),
        ("fast=", "is not KEY=VALUE"),
        ("fast=1:5", "START:STOP:STEP"),
        ("fast=a:5:1", "START:STOP:STEP"),
        ("fast=5:1:1", "STEP must be > 0"),
        ("fast=1:5:0", "STEP must be > 0"),
        ("fast=0:1e9:1", "at most"),
    ],
)
def test_bad_specs_say_what_is_wrong(text: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        parse_spec(text)


def test_unknown_and_repeated_parameters_are_refused() -> None:
    with pytest.raises(ValueError, match="has no parameter 'fsat'"):
        Space(SmaCross, [parse_spec("fsat=1,2")])
    with pytest.raises(ValueError, match="more than once"):
        Space(SmaCross, [parse_spec("fast=1,2"), parse_spec("fast=3")])


def test_grid_is_the_product_in_order_with_fixed_values() -> None:
    space = Space(
        Ict,
        [parse_spec("r_multiple=2"), parse_spec("swing_length=3,5"), parse_spec("entry=fvg,ob")],
    )
    assert space.names == ["swing_length", "entry"]
    assert space.size == 4
    assert list(space.grid()) == [
        {"r_multiple": 2, "swing_length": 3, "entry": "fvg"},
        {"r_multiple": 2, "swing_length": 3, "entry": "ob"},
        {"r_multiple": 2, "swing_length": 5, "entry": "fvg"},
        {"r_multiple": 2, "swing_length": 5, "entry": "ob"},
    ]


def test_random_samples_are_seeded_and_distinct() -> None:
    space = Space(SmaCross, [parse_spec("fast=1:50:1"), parse_spec("slow=2:200:1")])
    first = space.sample(20, seed=1)
    assert first == space.sample(20, seed=1)
    assert first != space.sample(20, seed=2)
    assert len({tuple(params.values()) for params in first}) == 20
    assert len(space.sample(10_000, seed=1)) == space.size == 50 * 199


def test_invalid_combinations_are_named_by_the_strategy_not_raised() -> None:
    space = Space(SmaCross, [parse_spec("fast=10,30"), parse_spec("slow=20")])
    assert space.problem({"fast": 10, "slow": 20}) is None
    problem = space.problem({"fast": 30, "slow": 20})
    assert problem is not None and "fast (30) must be smaller than slow (20)" in problem


def test_how_many_trials_a_search_runs() -> None:
    assert planned_trials(Method.GRID, 12, None) == 12
    assert planned_trials(Method.RANDOM, 12, 50) == 12  # never more than the combinations
    assert planned_trials(Method.RANDOM, 10_000, None) == DEFAULT_TRIALS
    assert planned_trials(Method.OPTUNA, 12, 50) == 50  # optuna may ask a set again
    with pytest.raises(ValueError, match="grid runs all 12 combinations"):
        planned_trials(Method.GRID, 12, 5)
    with pytest.raises(ValueError, match="at least 1"):
        planned_trials(Method.RANDOM, 12, 0)
