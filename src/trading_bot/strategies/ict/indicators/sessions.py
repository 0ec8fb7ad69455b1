"""Killzones and the previous day / week / session highs and lows, on the clock traders use.

Killzones are windows of New York wall-clock time (ICT defines them there), so they follow
daylight saving: `zoneinfo` turns every candle's UTC open time into local time, and the
London killzone opens at 07:00 UTC in winter and 06:00 UTC in summer. A candle belongs to
the killzone its OPEN time falls in; windows include their start and exclude their end.

Default killzones (New York time), the common ICT definitions:
- asia    20:00-00:00 (the Asian range)
- london  02:00-05:00 (London open)
- ny_am   07:00-10:00 (New York open; some ICT material uses 08:30-11:00, configure it so)
- ny_pm   13:30-16:00 (New York afternoon)

Previous levels (`previous_levels`): the high and low of the last completed trading day, week
and killzone session. A period counts as completed at the first candle that opens after it:
that needs no knowledge of the timeframe, and a candle opening after the period proves it
ended. So every candle of a day sees the day before's high and low, never its own day's.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import datetime, time
from functools import cached_property
from typing import TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import numpy.typing as npt
import pandas as pd
from pydantic import BaseModel, ConfigDict, field_validator, model_validator

from trading_bot.core.model import Candle
from trading_bot.strategies.ict.indicators._common import (
    FloatArray,
    IntArray,
    check_closed,
    price_arrays,
)

DAY_S = 86_400
_NOON_S = DAY_S // 2
NO_PERIOD = -1  # period number of a candle outside every instance of a session
BoolArray = npt.NDArray[np.bool_]
N = TypeVar("N", int, IntArray)


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {name!r}; use an IANA name such as 'UTC'") from exc


def _seconds(clock: time) -> int:
    return clock.hour * 3600 + clock.minute * 60 + clock.second


def _offset(wall: N, zone: Killzone) -> N:
    """Seconds from the zone's start to the wall-clock time, within one day."""
    return (wall - zone.start_s) % DAY_S


class Killzone(_Frozen):
    """A named window of local time; `end` at or before `start` wraps past midnight."""

    name: str
    start: time
    end: time

    @model_validator(mode="after")
    def _check(self) -> Killzone:
        if not self.name:
            raise ValueError("a killzone needs a name")
        if self.start == self.end:
            raise ValueError(f"killzone {self.name!r} starts and ends at {self.start}: empty")
        return self

    @cached_property
    def start_s(self) -> int:
        return _seconds(self.start)

    @cached_property
    def length_s(self) -> int:
        return (_seconds(self.end) - self.start_s) % DAY_S


DEFAULT_KILLZONES = (
    Killzone(name="asia", start=time(20), end=time(0)),
    Killzone(name="london", start=time(2), end=time(5)),
    Killzone(name="ny_am", start=time(7), end=time(10)),
    Killzone(name="ny_pm", start=time(13, 30), end=time(16)),
)


class Killzones(_Frozen):
    """The killzones and the time zone of their clock; windows may not overlap, so a candle is
    in one killzone at most."""

    timezone: str = "America/New_York"
    zones: tuple[Killzone, ...] = DEFAULT_KILLZONES

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, name: str) -> str:
        _zone(name)
        return name

    @model_validator(mode="after")
    def _disjoint(self) -> Killzones:
        names = [zone.name for zone in self.zones]
        if len(set(names)) != len(names):
            raise ValueError(f"killzone names repeat: {names}")
        for i, a in enumerate(self.zones):
            for b in self.zones[i + 1 :]:
                # Two windows overlap when either one starts inside the other.
                if _offset(b.start_s, a) < a.length_s or _offset(a.start_s, b) < b.length_s:
                    raise ValueError(f"killzones {a.name!r} and {b.name!r} overlap")
        return self

    @cached_property
    def tz(self) -> ZoneInfo:
        return _zone(self.timezone)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(zone.name for zone in self.zones)


class TradingDay(_Frozen):
    """Where one trading day ends and the next begins: `start` o'clock in `timezone`.

    Crypto trades around the clock and counts days from UTC midnight (the default); forex
    rolls over at 17:00 New York time (`FOREX_DAY`). A day that starts in the afternoon or
    evening is named after the next calendar date, as the market names it: the forex day
    that opens on Sunday at 17:00 is Monday's. Weeks run from the day named Monday.
    """

    timezone: str = "UTC"
    start: time = time(0)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, name: str) -> str:
        _zone(name)
        return name

    @cached_property
    def tz(self) -> ZoneInfo:
        return _zone(self.timezone)

    @property
    def shift_s(self) -> int:
        """Local seconds to subtract so that day boundaries fall on midnight."""
        start = _seconds(self.start)
        return start if start < _NOON_S else start - DAY_S


KILLZONES = Killzones()
UTC_DAY = TradingDay()
FOREX_DAY = TradingDay(timezone="America/New_York", start=time(17))


def killzone(ohlc: pd.DataFrame, zones: Killzones = KILLZONES) -> pd.Series:
    """The name of the killzone each candle opens in, or "" outside all of them."""
    wall = _wall_seconds(ohlc.index, zones.tz)
    names = np.full(len(wall), "", dtype=object)
    for zone, inside in zip(zones.zones, _inside_masks(wall, zones.zones), strict=True):
        names[inside] = zone.name
    return pd.Series(names, index=ohlc.index, name="killzone", dtype=object)


def killzone_of(time_ms: int, zones: Killzones = KILLZONES) -> str:
    """The name of the killzone the instant `time_ms` (epoch ms) falls in, or ""."""
    wall = _wall_second(time_ms, zones.tz)
    for zone in zones.zones:
        if _offset(wall, zone) < zone.length_s:
            return zone.name
    return ""


def previous_level_columns(zones: Killzones = KILLZONES) -> list[str]:
    """The columns of `previous_levels`, in order: a _high and a _low per period."""
    return [f"prev_{period}_{end}" for period in _period_names(zones) for end in ("high", "low")]


def _period_names(zones: Killzones) -> list[str]:
    return ["day", "week", *zones.names]


def previous_levels(
    ohlc: pd.DataFrame, zones: Killzones = KILLZONES, day: TradingDay = UTC_DAY
) -> pd.DataFrame:
    """High and low of the previous trading day (`prev_day_high`, `prev_day_low`), week
    (`prev_week_*`) and session of every killzone (`prev_asia_*`, ...), as known at each
    candle: NaN until one such period has completed. A gap in the data (a weekend) is no
    period: after it, the previous day is the last one that had candles. `day` says where
    days begin: `UTC_DAY` (crypto, the default) or `FOREX_DAY` (17:00 New York)."""
    high, low = price_arrays(ohlc, "high", "low")
    periods = _periods(ohlc.index, zones, day)
    columns = {}
    for name, period in zip(_period_names(zones), periods, strict=True):
        columns[f"prev_{name}_high"], columns[f"prev_{name}_low"] = _previous_extremes(
            period, high, low
        )
    return pd.DataFrame(columns, index=ohlc.index)


class PreviousLevelsTracker:
    """Incremental `previous_levels`: `update` returns the row for each closed candle, keyed
    like the batch columns."""

    def __init__(self, zones: Killzones = KILLZONES, day: TradingDay = UTC_DAY) -> None:
        self.zones = zones
        self.day = day
        self._columns = previous_level_columns(self.zones)
        self._periods = [_PeriodExtremes() for _ in self._columns[::2]]

    def update(self, candle: Candle) -> dict[str, float]:
        check_closed(candle)
        numbers = _period_numbers_of(candle.open_time, self.zones, self.day)
        row: dict[str, float] = {}
        names = iter(self._columns)
        for tracker, number in zip(self._periods, numbers, strict=True):
            row[next(names)], row[next(names)] = tracker.update(number, candle.high, candle.low)
        return row


class _PeriodExtremes:
    """High and low of the current period, and of the last completed one."""

    __slots__ = ("high", "low", "number", "previous")

    def __init__(self) -> None:
        self.number = NO_PERIOD
        self.high = self.low = math.nan
        self.previous = (math.nan, math.nan)

    def update(self, number: int, high: float, low: float) -> tuple[float, float]:
        if number != self.number:
            if self.number != NO_PERIOD:
                self.previous = (self.high, self.low)
            self.number, self.high, self.low = number, high, low
        elif number != NO_PERIOD:
            self.high, self.low = max(self.high, high), min(self.low, low)
        return self.previous


def _previous_extremes(
    period: IntArray, high: FloatArray, low: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Per candle, the high and low of the last period completed before it: the one before its
    own, or the last one seen if it is in none. Periods are runs of one number (not NO_PERIOD)."""
    inside = period != NO_PERIOD
    starts = inside & (period != np.concatenate(([NO_PERIOD], period[:-1])))
    runs = np.cumsum(starts)  # runs started so far, per candle
    count = int(runs[-1]) if len(runs) else 0
    # One slot per run, and a last one for "none yet" that stays NaN (index -1 picks it).
    runs_high, runs_low = np.full(count + 1, np.nan), np.full(count + 1, np.nan)
    rows = np.flatnonzero(inside)
    np.fmax.at(runs_high, runs[rows] - 1, high[rows])
    np.fmin.at(runs_low, runs[rows] - 1, low[rows])
    done = runs - 1 - inside
    return runs_high[done], runs_low[done]


def _periods(index: pd.Index, zones: Killzones, day: TradingDay) -> list[IntArray]:
    """Day number, week number, then each killzone's session number, per candle."""
    day_wall = _wall_seconds(index, day.tz) - day.shift_s
    days = day_wall // DAY_S
    zone_wall = _wall_seconds(index, zones.tz)
    sessions = [
        np.where(inside, (zone_wall - zone.start_s) // DAY_S, NO_PERIOD)
        for zone, inside in zip(zones.zones, _inside_masks(zone_wall, zones.zones), strict=True)
    ]
    return [days, _week(days), *sessions]


def _period_numbers_of(time_ms: int, zones: Killzones, day: TradingDay) -> list[int]:
    """`_periods` for one instant."""
    days = (_wall_second(time_ms, day.tz) - day.shift_s) // DAY_S
    wall = _wall_second(time_ms, zones.tz)
    sessions = [
        (wall - zone.start_s) // DAY_S if _offset(wall, zone) < zone.length_s else NO_PERIOD
        for zone in zones.zones
    ]
    return [days, _week(days), *sessions]


def _week(days: N) -> N:
    # Day 0 (1970-01-01) was a Thursday: shifting by 3 makes weeks start on Mondays.
    return (days + 3) // 7


def _inside_masks(wall: IntArray, zones: Iterable[Killzone]) -> list[BoolArray]:
    return [_offset(wall, zone) < zone.length_s for zone in zones]


def _wall_seconds(index: pd.Index, tz: ZoneInfo) -> IntArray:
    """Local wall-clock time of each UTC instant, as seconds since 1970-01-01 00:00 local."""
    if not isinstance(index, pd.DatetimeIndex):
        raise TypeError(f"candles need a DatetimeIndex of open times, not {type(index).__name__}")
    utc = index.tz_localize("UTC") if index.tz is None else index
    local = utc.tz_convert(tz).tz_localize(None)
    return local.to_numpy(dtype="datetime64[s]").astype(np.int64)


def _wall_second(time_ms: int, tz: ZoneInfo) -> int:
    seconds = time_ms // 1000
    offset = datetime.fromtimestamp(seconds, tz).utcoffset()
    assert offset is not None  # a ZoneInfo always knows its offset
    return seconds + int(offset.total_seconds())
