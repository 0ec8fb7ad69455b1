from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd
import pytest

from trading_bot.data.files import frame_to_arrays, infer_timeframe_ms, load_candles, save_candles
from trading_bot.data.synthetic import generate_candles

MINUTE = 60_000
HOUR = 3_600_000
START = 1_609_459_200_000  # 2021-01-01T00:00:00Z, a Friday


@pytest.fixture(scope="module")
def minutes() -> pd.DataFrame:
    return generate_candles(200_000, MINUTE, seed=11, start_ms=START)


def _log_returns(frame: pd.DataFrame) -> npt.NDArray[np.float64]:
    return np.diff(np.log(frame["close"].to_numpy()))


def test_same_seed_gives_the_same_frame_and_another_seed_does_not() -> None:
    first = generate_candles(5_000, MINUTE, seed=3, start_ms=START)

    pd.testing.assert_frame_equal(first, generate_candles(5_000, MINUTE, seed=3, start_ms=START))
    assert not first.equals(generate_candles(5_000, MINUTE, seed=4, start_ms=START))


def test_frame_has_the_shape_of_loaded_files_and_is_labelled_synthetic(
    minutes: pd.DataFrame,
) -> None:
    assert len(minutes) == 200_000
    assert list(minutes.columns) == ["open", "high", "low", "close", "volume"]
    assert (minutes.dtypes == np.float64).all()
    assert isinstance(minutes.index, pd.DatetimeIndex)
    assert minutes.index.name == "time" and str(minutes.index.tz) == "UTC"
    assert minutes.index.is_monotonic_increasing and minutes.index.is_unique
    assert minutes.index[0] == pd.Timestamp(START, unit="ms", tz="UTC")
    assert minutes.attrs == {"synthetic": True, "seed": 11}


def test_candles_are_consistent_positive_and_rounded(minutes: pd.DataFrame) -> None:
    body_top = np.maximum(minutes["open"], minutes["close"])
    body_bottom = np.minimum(minutes["open"], minutes["close"])

    assert (minutes["high"] >= body_top).all() and (minutes["low"] <= body_bottom).all()
    assert (minutes["low"] > 0).all() and (minutes["volume"] > 0).all()
    prices = minutes[["open", "high", "low", "close"]].to_numpy()
    np.testing.assert_array_equal(prices, np.round(prices, 5))
    assert minutes["open"].iloc[0] == 100.0


def test_loader_accepts_what_the_generator_writes(minutes: pd.DataFrame, tmp_path: Path) -> None:
    sample = minutes.iloc[:3_000]
    save_candles(sample, tmp_path / "synthetic.csv.gz")

    pd.testing.assert_frame_equal(load_candles(tmp_path / "synthetic.csv.gz"), sample)


def test_opens_usually_equal_the_previous_close_with_occasional_gaps(
    minutes: pd.DataFrame,
) -> None:
    same = minutes["open"].to_numpy()[1:] == minutes["close"].to_numpy()[:-1]

    assert 0.95 < same.mean() < 0.999


def test_outages_leave_candles_missing(minutes: pd.DataFrame) -> None:
    steps = np.diff(frame_to_arrays(minutes)[0])

    assert infer_timeframe_ms(minutes) == MINUTE
    assert 3 <= (steps > MINUTE).sum() <= 30
    assert set(np.unique(steps % MINUTE)) == {0}


def test_weekend_gaps_remove_saturdays_and_sundays() -> None:
    frame = generate_candles(5_000, HOUR, seed=5, start_ms=START, weekend_gaps=True)

    times = pd.DatetimeIndex(frame.index)
    # Every hour from Monday 00:00 to Friday 23:00 occurs, and no other.
    hours_of_week = set(zip(times.dayofweek, times.hour, strict=True))
    assert hours_of_week == {(day, hour) for day in range(5) for hour in range(24)}


def test_weekend_gaps_need_a_timeframe_of_a_day_or_less() -> None:
    with pytest.raises(ValueError, match="weekend_gaps needs a timeframe of one day or less"):
        generate_candles(10, 7 * 86_400_000, seed=1, start_ms=START, weekend_gaps=True)


@pytest.mark.parametrize(
    "kwargs", [{"n": 0}, {"timeframe_ms": 0}, {"start_price": 0.0}, {"start_price": -1.0}]
)
def test_rejects_impossible_arguments(kwargs: dict[str, float]) -> None:
    arguments = {"n": 10, "timeframe_ms": MINUTE, "seed": 1, "start_ms": START} | kwargs

    with pytest.raises(ValueError, match="generate_candles needs"):
        generate_candles(**arguments)  # type: ignore[arg-type]


def test_regimes_make_trending_and_ranging_stretches_beyond_chance(minutes: pd.DataFrame) -> None:
    """The variance ratio of a window (variance of 50-candle moves over 50 times that of
    one-candle moves) is near 1 for a random walk, well above in a trend, below in a range.
    The same returns shuffled keep their distribution but lose the regimes."""
    returns = _log_returns(minutes)
    shuffled = np.random.default_rng(0).permutation(returns)

    ratios, chance = _variance_ratios(returns), _variance_ratios(shuffled)

    assert (ratios > 2).mean() > max(0.05, 5 * (chance > 2).mean())
    assert (ratios < 0.4).mean() > max(0.05, 5 * (chance < 0.4).mean())


def test_volatility_clusters_and_returns_have_fat_tails(minutes: pd.DataFrame) -> None:
    returns = _log_returns(minutes)
    size = np.abs(returns)

    assert abs(np.corrcoef(returns[:-1], returns[1:])[0, 1]) < 0.02  # no free lunch
    assert np.corrcoef(size[:-10], size[10:])[0, 1] > 0.05  # but calm and wild spells
    standardized = (returns - returns.mean()) / returns.std()
    assert (standardized**4).mean() - 3 > 3  # excess kurtosis: fat tails


def test_volume_rises_with_volatility(minutes: pd.DataFrame) -> None:
    size = np.abs(_log_returns(minutes))

    volume = minutes["volume"].to_numpy(dtype=np.float64)

    assert np.corrcoef(volume[1:], size)[0, 1] > 0.3


def _variance_ratios(
    returns: npt.NDArray[np.float64], window: int = 1_000, q: int = 50
) -> npt.NDArray[np.float64]:
    windows = returns[: len(returns) // window * window].reshape(-1, window)
    moves = windows.reshape(len(windows), -1, q).sum(axis=2)
    ratios: npt.NDArray[np.float64] = (moves**2).mean(axis=1) / (q * (windows**2).mean(axis=1))
    return ratios
