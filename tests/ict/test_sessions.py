"""Killzones across daylight saving, and previous day / week / session highs and lows."""

from __future__ import annotations

from datetime import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from tests.ict.conftest import assert_causal, candles, ohlc_frames
from trading_bot.data.files import load_candles
from trading_bot.strategies.ict.indicators.sessions import (
    FOREX_DAY,
    Killzone,
    Killzones,
    PreviousLevelsTracker,
    TradingDay,
    killzone,
    killzone_of,
    previous_level_columns,
    previous_levels,
)

NEW_YORK = "America/New_York"


def ms(iso: str) -> int:
    return pd.Timestamp(iso).value // 1_000_000


def at_times(isos: list[str], highs: list[float], lows: list[float]) -> pd.DataFrame:
    mids = [(h + low) / 2 for h, low in zip(highs, lows, strict=True)]
    index = pd.DatetimeIndex(pd.to_datetime(isos, utc=True), name="time")
    return pd.DataFrame(
        {"open": mids, "high": highs, "low": lows, "close": mids, "volume": 1.0}, index=index
    )


@st.composite
def timed_frames(draw: st.DrawFn, max_size: int = 120) -> pd.DataFrame:
    """Random candles at random steps from a quarter hour to two days, around a daylight
    saving change, so that sessions, days, weeks and gaps all occur."""
    frame = draw(ohlc_frames(max_size=max_size))
    steps = draw(st.lists(st.sampled_from([15, 60, 180, 420, 2880]), min_size=len(frame)))
    start = pd.Timestamp("2021-03-10T00:00:00Z") + pd.Timedelta(minutes=draw(st.integers(0, 1439)))
    offsets = pd.to_timedelta(np.cumsum(steps[: len(frame)]) - steps[0], unit="min")
    frame.index = pd.DatetimeIndex(start + offsets, name="time")
    return frame


# New York switched to summer time on 2021-03-14 and back on 2021-11-07.
@pytest.mark.parametrize(
    ("utc", "expected"),
    [
        ("2021-03-12T06:59Z", ""),  # 01:59 EST
        ("2021-03-12T07:00Z", "london"),  # 02:00 EST
        ("2021-03-12T09:59Z", "london"),
        ("2021-03-12T10:00Z", ""),  # 05:00 EST: the end is outside
        ("2021-03-14T06:59Z", ""),  # 01:59 EST, and the next minute is 03:00 EDT
        ("2021-03-14T07:00Z", "london"),  # 03:00 EDT: that London killzone lasts 2 hours
        ("2021-03-15T06:00Z", "london"),  # 02:00 EDT
        ("2021-03-15T09:00Z", ""),  # 05:00 EDT
        ("2021-03-12T01:00Z", "asia"),  # 20:00 EST
        ("2021-03-15T00:00Z", "asia"),  # 20:00 EDT
        ("2021-03-15T03:59Z", "asia"),
        ("2021-03-15T04:00Z", ""),  # midnight EDT
        ("2021-03-15T11:00Z", "ny_am"),  # 07:00 EDT
        ("2021-03-15T17:29Z", ""),
        ("2021-03-15T17:30Z", "ny_pm"),  # 13:30 EDT
        ("2021-11-05T06:00Z", "london"),  # 02:00 EDT
        ("2021-11-07T06:00Z", ""),  # 01:00 EST, the second time 01:00 comes that night
        ("2021-11-08T06:00Z", ""),  # 01:00 EST
        ("2021-11-08T07:00Z", "london"),  # 02:00 EST
        ("2021-11-08T12:00Z", "ny_am"),  # 07:00 EST
        ("2021-11-08T20:59Z", "ny_pm"),  # 15:59 EST
    ],
)
def test_killzones_follow_new_york_daylight_saving(utc: str, expected: str) -> None:
    assert killzone_of(ms(utc)) == expected
    frame = at_times([utc], [2.0], [1.0])
    assert killzone(frame).tolist() == [expected]


@pytest.mark.parametrize(("start", "london"), [("2021-03-12", 660), ("2021-11-05", 720)])
def test_batch_and_instant_forms_agree_minute_by_minute_across_a_change(
    start: str, london: int
) -> None:
    index = pd.date_range(start, periods=4 * 24 * 60, freq="min", tz="UTC", name="time")
    frame = pd.DataFrame({"high": 2.0, "low": 1.0}, index=index)
    batch = killzone(frame)
    assert batch.tolist() == [killzone_of(t // 1_000_000) for t in index.asi8.tolist()]
    # Four days hold four killzones of each kind; on 2021-03-14 New York skips 02:00-03:00,
    # an hour of that day's London killzone.
    lengths = batch[batch != ""].value_counts().to_dict()
    assert lengths == {"asia": 960, "london": london, "ny_am": 720, "ny_pm": 600}


def test_killzones_are_configurable() -> None:
    zones = Killzones.model_validate(
        {"zones": [{"name": "ny_am", "start": "08:30", "end": "11:00"}]}
    )
    summer_10_45 = ms("2021-06-01T14:45Z")
    assert killzone_of(summer_10_45) == ""
    assert killzone_of(summer_10_45, zones) == "ny_am"
    tokyo = Killzones(
        timezone="Asia/Tokyo", zones=(Killzone(name="tokyo", start=time(9), end=time(15)),)
    )
    assert killzone_of(ms("2021-06-01T00:00Z"), tokyo) == "tokyo"


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"timezone": "Mars/Olympus"}, "unknown time zone 'Mars/Olympus'"),
        ({"zones": [{"name": "a", "start": "20:00", "end": "01:00"},
                    {"name": "b", "start": "00:30", "end": "02:00"}]}, "'a' and 'b' overlap"),
        ({"zones": [{"name": "a", "start": "01:00", "end": "01:00"}]}, "empty"),
        ({"zones": [{"name": "a", "start": "01:00", "end": "02:00"},
                    {"name": "a", "start": "03:00", "end": "04:00"}]}, "names repeat"),
        ({"zone": []}, "Extra inputs are not permitted"),
    ],
)  # fmt: skip
def test_bad_killzone_settings_are_refused(config: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Killzones.model_validate(config)


def test_previous_day_levels_equal_a_daily_resample_shifted_by_one_day(
    btcusdt_1h: pd.DataFrame,
) -> None:
    levels = previous_levels(btcusdt_1h)
    # Days without candles (outages) are no days: the previous day is the last one traded.
    daily = btcusdt_1h.resample("1D").agg({"high": "max", "low": "min"}).dropna().shift(1)
    expected = daily.reindex(btcusdt_1h.index.floor("D"))
    np.testing.assert_array_equal(levels["prev_day_high"], expected["high"])
    np.testing.assert_array_equal(levels["prev_day_low"], expected["low"])
    weeks = btcusdt_1h.index.tz_localize(None).to_period("W-SUN")  # Monday to Sunday
    weekly = btcusdt_1h.groupby(weeks).agg({"high": "max", "low": "min"}).shift(1)
    np.testing.assert_array_equal(levels["prev_week_high"], weekly["high"].reindex(weeks))
    np.testing.assert_array_equal(levels["prev_week_low"], weekly["low"].reindex(weeks))


def test_forex_days_roll_over_at_five_in_new_york(shared_data: Path) -> None:
    frame = load_candles(shared_data / "oanda-EURUSD-1h.csv.gz").iloc[:20_000]
    levels = previous_levels(frame, day=FOREX_DAY)
    # 17:00 New York becomes midnight when moved on by 7 hours; that date names the day.
    local = frame.index.tz_convert(NEW_YORK).tz_localize(None) + pd.Timedelta(hours=7)
    days = local.floor("D")
    assert set(days.dayofweek) == {0, 1, 2, 3, 4}  # the Sunday evening open is Monday's
    daily = frame.groupby(days).agg({"high": "max", "low": "min"}).shift(1)
    np.testing.assert_array_equal(levels["prev_day_high"], daily["high"].reindex(days))
    np.testing.assert_array_equal(levels["prev_day_low"], daily["low"].reindex(days))


def test_previous_session_levels_on_a_real_file(eurusd_15m: pd.DataFrame) -> None:
    frame = eurusd_15m.iloc[:8000]
    levels = previous_levels(frame)
    zones = killzone(frame).to_numpy()
    for name in Killzones().names:
        # Sessions as runs of candles in the killzone, and for each candle the latest run
        # that ended before it.
        inside = zones == name
        starts = np.flatnonzero(inside & ~np.r_[False, inside[:-1]])
        ends = np.flatnonzero(inside & ~np.r_[inside[1:], False])
        highs = [frame["high"].iloc[a : b + 1].max() for a, b in zip(starts, ends, strict=True)]
        lows = [frame["low"].iloc[a : b + 1].min() for a, b in zip(starts, ends, strict=True)]
        latest = np.searchsorted(ends, np.arange(len(frame)), side="left") - 1
        expected_high = np.where(latest >= 0, np.r_[highs, np.nan][latest], np.nan)
        expected_low = np.where(latest >= 0, np.r_[lows, np.nan][latest], np.nan)
        np.testing.assert_array_equal(levels[f"prev_{name}_high"], expected_high)
        np.testing.assert_array_equal(levels[f"prev_{name}_low"], expected_low)


def test_a_period_is_known_at_the_first_candle_after_it() -> None:
    frame = at_times(
        [
            "2021-03-12T07:00Z",  # Friday 02:00 EST: London
            "2021-03-12T09:45Z",  # London
            "2021-03-12T10:00Z",  # 05:00: London is over
            "2021-03-12T23:00Z",
            "2021-03-15T07:00Z",  # Monday, a new week
        ],
        highs=[5, 7, 6, 4, 3],
        lows=[2, 3, 1, 2, 1],
    )
    levels = previous_levels(frame)
    np.testing.assert_array_equal(levels["prev_london_high"], [np.nan, np.nan, 7, 7, 7])
    np.testing.assert_array_equal(levels["prev_london_low"], [np.nan, np.nan, 2, 2, 2])
    np.testing.assert_array_equal(levels["prev_day_high"], [np.nan] * 4 + [7])
    np.testing.assert_array_equal(levels["prev_week_low"], [np.nan] * 4 + [1])


def test_forex_sunday_open_starts_monday_and_the_new_week() -> None:
    frame = at_times(
        [
            "2021-03-11T21:00Z",  # Thursday 16:00 EST: Thursday
            "2021-03-11T22:00Z",  # Thursday 17:00 EST: Friday
            "2021-03-12T21:00Z",  # Friday 16:00 EST: Friday
            "2021-03-14T21:00Z",  # Sunday 17:00 EDT: Monday, week 2
            "2021-03-15T20:00Z",  # Monday 16:00 EDT: Monday
            "2021-03-15T21:00Z",  # Monday 17:00 EDT: Tuesday
        ],
        highs=[9, 5, 6, 4, 8, 7],
        lows=[1, 3, 2, 3, 1, 5],
    )
    levels = previous_levels(frame, day=FOREX_DAY)
    np.testing.assert_array_equal(levels["prev_day_high"], [np.nan, 9, 9, 6, 6, 8])
    np.testing.assert_array_equal(levels["prev_day_low"], [np.nan, 1, 1, 2, 2, 1])
    np.testing.assert_array_equal(levels["prev_week_high"], [np.nan] * 3 + [9] * 3)
    utc = previous_levels(frame)  # UTC days: Sunday is a day of its own
    np.testing.assert_array_equal(utc["prev_day_high"], [np.nan, np.nan, 9, 6, 4, 4])


@settings(max_examples=80, deadline=None)
@given(timed_frames(), st.sampled_from([TradingDay(), FOREX_DAY]))
def test_incremental_equals_batch(frame: pd.DataFrame, day: TradingDay) -> None:
    tracker = PreviousLevelsTracker(day=day)
    rows = [tracker.update(candle) for candle in candles(frame)]
    incremental = pd.DataFrame(rows, index=frame.index, columns=previous_level_columns())
    pd.testing.assert_frame_equal(incremental, previous_levels(frame, day=day))


@settings(max_examples=40, deadline=None)
@given(timed_frames(max_size=60))
def test_each_prefix_knows_what_the_full_run_knew(frame: pd.DataFrame) -> None:
    assert_causal(previous_levels, frame, ends=list(range(len(frame))))


def test_prefixes_of_a_real_file(eurusd_15m: pd.DataFrame) -> None:
    frame = eurusd_15m.iloc[:3000]
    assert_causal(previous_levels, frame, ends=list(range(0, 3000, 97)))


def test_incremental_equals_batch_on_a_real_file(eurusd_15m: pd.DataFrame) -> None:
    frame = eurusd_15m.iloc[:5000]
    tracker = PreviousLevelsTracker(day=FOREX_DAY)
    rows = [tracker.update(candle) for candle in candles(frame)]
    pd.testing.assert_frame_equal(
        pd.DataFrame(rows, index=frame.index), previous_levels(frame, day=FOREX_DAY)
    )
