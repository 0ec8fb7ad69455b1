"""The `ict` strategy: the common ICT model, built on the causal indicators.

For a long (a short mirrors it):
1. Bias: the higher timeframe's market structure is bullish (its last break was upward).
2. Liquidity is swept: a candle trades below a sell-side level (a swing low, equal lows, the
   previous day's, week's or session's low) and closes back above it.
3. Within `sweep_window` candles, a market structure shift: a close above the last confirmed
   swing high, with displacement (a candle whose body is at least `displacement_k` x ATR)
   somewhere in the move, inside an allowed killzone.
4. The move left a bullish fair value gap since the sweep (or, with `entry = "ob"`, an order
   block), by the third candle after the shift: a limit entry at its consequent encroachment
   (the middle) or near edge, which must lie in the optimal trade entry zone (0.62-0.79
   retracement of the move from the sweep's low) when `ote` is on; where the gap straddles
   the zone, the entry is moved into it.
5. Stop below the sweep's low by `stop_buffer_atr` x ATR; target `r_multiple` x the risk, or
   the nearest untaken buy-side liquidity at least 1R away (`target = "liquidity"`).
6. The entry is canceled after `expiry_bars` candles, or as soon as a candle closes beyond the
   stop before it filled. With `one_trade_per_killzone`, one setup per killzone session.

The higher timeframe follows from the candles' when not set (1m -> 15m, 5m -> 1h,
15m -> 4h, 1h -> 1d), so `trading-bot backtest --strategy ict --data FILE` needs nothing more.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from pydantic import Field, field_validator

from trading_bot.core.model import Candle, Direction, Signal
from trading_bot.strategies.base import Strategy, StrategyParams
from trading_bot.strategies.ict.indicators._common import BULLISH
from trading_bot.strategies.ict.indicators.fvg import FvgTracker
from trading_bot.strategies.ict.indicators.liquidity import (
    EqualLevelsTracker,
    Level,
    LiquidityTracker,
)
from trading_bot.strategies.ict.indicators.order_blocks import OrderBlockTracker
from trading_bot.strategies.ict.indicators.ranges import ote_bounds
from trading_bot.strategies.ict.indicators.sessions import (
    FOREX_DAY,
    KILLZONES,
    UTC_DAY,
    PreviousLevelsTracker,
    killzone_of,
)
from trading_bot.strategies.ict.indicators.structure import (
    AtrTracker,
    DisplacementTracker,
    StructureTracker,
)

MINUTE_MS = 60_000
ENTRY_WAIT = 3  # candles after the shift in which the move's gap (or block) may still form
HIGHER_TIMEFRAMES_MS = (15, 30, 60, 240, 1440, 10_080)  # minutes: 15m 30m 1h 4h 1d 1w


def default_higher_timeframe(timeframe_ms: int) -> int:
    """The smallest common timeframe at least twelve candles long."""
    for minutes in HIGHER_TIMEFRAMES_MS:
        if minutes * MINUTE_MS >= 12 * timeframe_ms:
            return minutes * MINUTE_MS
    return HIGHER_TIMEFRAMES_MS[-1] * MINUTE_MS


class IctParams(StrategyParams):
    swing_length: int = Field(5, ge=1, description="candles each side of a swing pivot")
    htf_minutes: int | None = Field(
        None, ge=1, description="higher timeframe for the bias, minutes (default: derived)"
    )
    htf_swing_length: int = Field(3, ge=1, description="swing length on the higher timeframe")
    require_bias: bool = Field(True, description="trade only with the higher-timeframe bias")
    killzones: tuple[str, ...] = Field(
        ("london", "ny_am", "ny_pm"), description="killzones to trade in; empty: any time"
    )
    trading_day: Literal["utc", "forex"] = Field(
        "utc", description="day boundary of previous-day levels: UTC midnight or 17:00 New York"
    )
    sweep_window: int = Field(30, ge=1, description="candles from the sweep to the shift")
    displacement_k: float = Field(1.2, gt=0, description="displacement body, in ATRs")
    atr_period: int = Field(14, ge=1, description="ATR period")
    equal_tolerance_atr: float = Field(0.1, gt=0, description="equal highs/lows tolerance, ATRs")
    entry: Literal["fvg", "ob"] = Field(
        "fvg", description="enter in a fair value gap or order block"
    )
    entry_level: Literal["ce", "edge"] = Field(
        "ce", description="the gap's middle (consequent encroachment) or its near edge"
    )
    ote: bool = Field(True, description="the entry must lie in the 0.62-0.79 retracement")
    stop_buffer_atr: float = Field(0.1, ge=0, description="stop beyond the sweep, in ATRs")
    target: Literal["r", "liquidity"] = Field("r", description="R multiple or opposing liquidity")
    r_multiple: float = Field(2.0, gt=0, description="target distance in multiples of the risk")
    expiry_bars: int = Field(12, ge=1, description="candles an unfilled entry stays")
    one_trade_per_killzone: bool = Field(True, description="one setup per killzone session")

    @field_validator("killzones", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        """`--param killzones=london,ny_am` (or `killzones=` for none) from the command line."""
        if isinstance(value, str):
            return tuple(name.strip() for name in value.split(",") if name.strip())
        return value

    @field_validator("killzones")
    @classmethod
    def _known_killzones(cls, names: tuple[str, ...]) -> tuple[str, ...]:
        unknown = sorted(set(names) - set(KILLZONES.names))
        if unknown:
            raise ValueError(f"unknown killzone(s) {unknown}; known: {list(KILLZONES.names)}")
        return names


@dataclass(slots=True)
class _SweepState:
    """The latest sweep of one side and the move since: where a setup can start."""

    bar: int
    level: Level
    extreme: float  # the lowest low (sell-side sweep) or highest high since the sweep
    far: float  # the highest high (sell-side sweep) or lowest low since the sweep
    displaced: bool = False


@dataclass(slots=True)
class _Armed:
    """A shift confirmed the sweep: waiting (a few candles) for the gap the move leaves."""

    side: int
    sweep: _SweepState
    broken: float
    bar: int
    zone: str


@dataclass(slots=True)
class _Pending:
    direction: Direction
    stop: float
    expires: int


class HigherTimeframe:
    """Aggregates closed candles into epoch-aligned candles of `timeframe_ms` and tracks their
    market structure: a higher candle is complete with the candle that ends at its end, or,
    across a gap, with the first candle of a later one."""

    def __init__(self, timeframe_ms: int, swing_length: int) -> None:
        self.timeframe_ms = timeframe_ms
        self.structure = StructureTracker(swing_length)
        self._bucket: Candle | None = None

    @property
    def bias(self) -> int:
        return self.structure.trend

    def update(self, candle: Candle) -> None:
        start = candle.open_time - candle.open_time % self.timeframe_ms
        bucket = self._bucket
        if bucket is not None and bucket.open_time != start:
            self.structure.update(bucket)
            bucket = None
        if bucket is None:
            bucket = Candle(
                candle.symbol, self.timeframe_ms, start, candle.open, candle.high, candle.low,
                candle.close, candle.volume,
            )  # fmt: skip
        else:
            bucket = bucket._replace(
                high=max(bucket.high, candle.high),
                low=min(bucket.low, candle.low),
                close=candle.close,
                volume=bucket.volume + candle.volume,
            )
        if candle.close_time >= start + self.timeframe_ms:
            self.structure.update(bucket)
            bucket = None
        self._bucket = bucket


class Ict(Strategy):
    name = "ict"
    Params = IctParams

    def __init__(self, params: StrategyParams, symbol: str, timeframe_ms: int) -> None:
        super().__init__(params, symbol, timeframe_ms)
        assert isinstance(params, IctParams)
        p = self.p = params
        htf = p.htf_minutes * MINUTE_MS if p.htf_minutes else default_higher_timeframe(timeframe_ms)
        self.higher = HigherTimeframe(htf, p.htf_swing_length)
        self.atr = AtrTracker(p.atr_period)
        self.displacement = DisplacementTracker(p.displacement_k, p.atr_period)
        self.structure = StructureTracker(p.swing_length)
        self.fvgs = FvgTracker()
        self.order_blocks = OrderBlockTracker(p.swing_length, p.displacement_k, p.atr_period)
        self.equal = EqualLevelsTracker(p.equal_tolerance_atr)
        self.previous = PreviousLevelsTracker(
            KILLZONES, FOREX_DAY if p.trading_day == "forex" else UTC_DAY
        )
        self.liquidity = LiquidityTracker()
        self.sweeps: dict[int, _SweepState] = {}  # by the side of the setup it starts
        self.armed: _Armed | None = None
        self.pending: _Pending | None = None
        self.traded: set[tuple[str, int]] = set()  # (killzone, day) sessions already traded
        self.bar = -1
        # Restarts rebuild the trackers from history: enough for the higher timeframe's swings.
        self.warmup = max(1000, 40 * p.htf_swing_length * htf // timeframe_ms)

    def on_candle(self, candle: Candle) -> Signal | None:
        self.bar += 1
        atr = self.atr.update(candle)
        displaced = self.displacement.update(candle)
        self.higher.update(candle)
        last_swing = self.structure.swings.last
        brk = self.structure.update(candle)
        swing = self.structure.swings.last
        new_swings = [swing] if swing is not None and swing is not last_swing else []
        equal = self.equal.update(candle, new_swings, atr)
        swept = self.liquidity.update(candle, new_swings, equal, self.previous.update(candle))
        self.fvgs.update(candle)
        self.order_blocks.update(candle)
        self._follow_moves(candle, displaced)
        for sweep in swept:
            # Sell-side liquidity taken (a low) sets up a long; buy-side, a short.
            setup = -sweep.level.side
            extreme = candle.low if setup == BULLISH else candle.high
            far = candle.high if setup == BULLISH else candle.low
            self.sweeps[setup] = _SweepState(
                self.bar, sweep.level, extreme, far, displaced == setup
            )
        cancel = self._invalidated(candle)
        if cancel is not None:
            return cancel
        blocked = self.entry_block(candle.close_time)
        if blocked is not None:
            return self._stand_aside(candle, blocked)
        if brk is not None:
            self._arm(candle, brk.side, brk.level)
        return None if math.isnan(atr) else self._enter(candle, atr)

    def _follow_moves(self, candle: Candle, displaced: int) -> None:
        for setup, state in list(self.sweeps.items()):
            if self.bar - state.bar > self.p.sweep_window:
                del self.sweeps[setup]
                continue
            if setup == BULLISH:
                state.extreme, state.far = (
                    min(state.extreme, candle.low),
                    max(state.far, candle.high),
                )
            else:
                state.extreme, state.far = (
                    max(state.extreme, candle.high),
                    min(state.far, candle.low),
                )
            state.displaced = state.displaced or displaced == setup

    def _invalidated(self, candle: Candle) -> Signal | None:
        """Cancel an entry that has not filled when a candle closes beyond its stop."""
        pending = self.pending
        if pending is None:
            return None
        if candle.close_time >= pending.expires or self.position is not Direction.FLAT:
            self.pending = None  # expired (the order is canceled) or filled (the stop guards it)
            return None
        beyond = (
            candle.close < pending.stop
            if pending.direction is Direction.LONG
            else candle.close > pending.stop
        )
        if not beyond:
            return None
        self.pending = None
        return Signal(
            candle.symbol, Direction.FLAT, candle.close_time, candle.close,
            reason=f"setup invalidated: closed beyond the stop {pending.stop:g} before the entry",
        )  # fmt: skip

    def _stand_aside(self, candle: Candle, blocked: str) -> Signal | None:
        """No new setup during a blackout (it would not count against the killzone's one
        trade), and an entry still waiting to fill is canceled: it would fill inside it."""
        self.armed = None
        pending, self.pending = self.pending, None
        if pending is None or self.position is not Direction.FLAT:
            return None
        return Signal(
            candle.symbol, Direction.FLAT, candle.close_time, candle.close,
            reason=f"entry canceled: {blocked}",
        )  # fmt: skip

    def _arm(self, candle: Candle, side: int, broken: float) -> None:
        """A shift in `side`'s direction: a setup when it follows a sweep, with displacement,
        with the bias and in an allowed killzone."""
        p = self.p
        sweep = self.sweeps.get(side)
        if sweep is None or not sweep.displaced:
            return
        if p.require_bias and self.higher.bias != side:
            return
        zone = killzone_of(candle.open_time)
        if p.killzones and zone not in p.killzones:
            return
        if p.one_trade_per_killzone and zone and self._session(zone, candle) in self.traded:
            return
        self.armed = _Armed(side, sweep, broken, self.bar, zone)
        del self.sweeps[side]

    @staticmethod
    def _session(zone: str, candle: Candle) -> tuple[str, int]:
        return zone, candle.open_time // 86_400_000

    def _enter(self, candle: Candle, atr: float) -> Signal | None:
        """The limit entry of an armed setup, once the move has left its gap (or block)."""
        armed, p = self.armed, self.p
        if armed is None:
            return None
        side, sweep = armed.side, armed.sweep
        if self.bar - armed.bar > ENTRY_WAIT or side * (candle.close - sweep.extreme) <= 0:
            self.armed = None  # no gap came, or price went back through the sweep
            return None
        found = self._entry_zone(side, sweep)
        if found is None:
            return None
        entry, what = found
        stop = sweep.extreme - side * p.stop_buffer_atr * atr
        risk = side * (entry - stop)
        if risk <= 0:
            return None
        self.armed = None
        if armed.zone:
            self.traded.add(self._session(armed.zone, candle))
        direction = Direction.LONG if side == BULLISH else Direction.SHORT
        expires = candle.close_time + p.expiry_bars * self.timeframe_ms
        self.pending = _Pending(direction, stop, expires)
        level = sweep.level
        reason = (
            f"swept {level.kind} {level.price:g}; shift {'above' if side == BULLISH else 'below'} "
            f"{armed.broken:g}; {direction.value} from {what} at {entry:g}"
            f"{' in ' + armed.zone if armed.zone else ''}"
        )
        return Signal(
            candle.symbol, direction, candle.close_time, candle.close, stop,
            self._target(side, entry, risk), reason, entry=entry, expires=expires,
        )  # fmt: skip

    def _entry_zone(self, side: int, state: _SweepState) -> tuple[float, str] | None:
        """The entry price and what it is, from the newest gap (or block) the move left."""
        p = self.p
        if p.entry == "fvg":
            zones = [(g.top, g.bottom, g.index) for g in self.fvgs.open_gaps if g.side == side]
            label = "FVG"
        else:
            zones = [(b.top, b.bottom, b.known) for b in self.order_blocks.blocks if b.side == side]
            label = "order block"
        candidates = [(top, bottom) for top, bottom, index in zones if index >= state.bar]
        if not candidates:
            return None
        top, bottom = candidates[-1]
        near = top if side == BULLISH else bottom
        entry = (top + bottom) / 2 if p.entry_level == "ce" else near
        what = f"{label} {bottom:g}-{top:g}"
        if p.ote:
            high, low = (
                (state.far, state.extreme) if side == BULLISH else (state.extreme, state.far)
            )
            direction = Direction.LONG if side == BULLISH else Direction.SHORT
            ote_low, ote_high = ote_bounds(high, low, direction)
            if top < ote_low or bottom > ote_high:
                return None
            entry = min(max(entry, ote_low), ote_high)
        return entry, what

    def _target(self, side: int, entry: float, risk: float) -> float:
        p = self.p
        fallback = entry + side * p.r_multiple * risk
        if p.target == "r":
            return fallback
        for level in self.liquidity.untaken(side):
            if side * (level.price - entry) >= risk:
                return level.price
        return fallback
