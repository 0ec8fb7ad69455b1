"""Synthetic candles that behave like a market, for the demo, tests and benchmarks.

Deterministic from the seed. Prices move through regimes (up trends, down trends and
mean-reverting ranges) with clustered volatility, fat-tailed returns and rare jumps; opens
sometimes gap from the previous close; candles go missing in a few outages and, on request, over
weekends. Everything is vectorized: a million candles take about a second. Each frame carries
`attrs["synthetic"] = True` and its seed, so no chart or report can pass it off as real data.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
import pandas as pd

DAY_MS = 86_400_000
_WEEK_MS = 7 * DAY_MS
_TRADING_WEEK_MS = 5 * DAY_MS
_FIRST_MONDAY_MS = 4 * DAY_MS  # 1970-01-05T00:00:00Z

DAILY_VOLATILITY = 0.02  # typical standard deviation of a day's log return
VOL_PERSISTENCE = 0.995  # AR(1) coefficient of log volatility per candle: calm and wild spells
VOL_OF_VOL = 0.4  # standard deviation of log volatility around its mean
TAIL_DF = 4  # Student-t degrees of freedom of returns: fat tails
JUMP_PROBABILITY = 0.0005
JUMP_SIGMAS = 8.0
PRICE_GAP_PROBABILITY = 0.01  # an open away from the previous close
PRICE_GAP_SIGMAS = 0.5
MAX_GAP_SIGMAS = 10.0  # the price moved while candles were missing: at most this far
MEAN_REGIME_CANDLES = 400
MIN_REGIME_CANDLES = 30
RANGE_SHARE = 0.5  # the rest are trends, up or down
TREND_DRIFT_SIGMAS = (0.05, 0.2)  # drift per candle in a trend, in units of volatility
RANGE_PULL = 0.03  # share of the distance to the range's anchor recovered per candle
TREND_LEAN = math.log(3.0)  # trends lean back toward the start price: long series stay plausible
OUTAGE_EVERY = 20_000  # one outage per this many candles, plus one
MAX_OUTAGE_CANDLES = 60
WICK_SIGMAS = 0.5
VOLUME_PER_MINUTE = 100.0
# Blocks of the AR(1) filter are short enough that phi ** -block stays below e ** 10.
_MAX_BLOCK_GROWTH = 10.0

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


def generate_candles(
    n: int,
    timeframe_ms: int,
    seed: int,
    start_ms: int,
    start_price: float = 100.0,
    weekend_gaps: bool = False,
) -> pd.DataFrame:
    """`n` candles in the frame shape of `load_candles`, starting at `start_ms` (give an open
    time aligned to the timeframe to get venue-like times) and `start_price`. With
    `weekend_gaps`, Saturdays and Sundays (UTC) have no candles, as in forex."""
    if n < 1 or timeframe_ms < 1 or not start_price > 0:
        raise ValueError(
            f"generate_candles needs n >= 1, timeframe_ms >= 1 and start_price > 0, "
            f"got n={n}, timeframe_ms={timeframe_ms}, start_price={start_price}"
        )
    if weekend_gaps and timeframe_ms > DAY_MS:
        raise ValueError(
            f"weekend_gaps needs a timeframe of one day or less, got {timeframe_ms} ms"
        )
    rng = np.random.Generator(np.random.PCG64(seed))
    times = _open_times(rng, n, timeframe_ms, start_ms, weekend_gaps)

    log_vol = _ar1(
        rng.standard_normal(n) * (VOL_OF_VOL * math.sqrt(1 - VOL_PERSISTENCE**2)), VOL_PERSISTENCE
    )
    sigma = DAILY_VOLATILITY * math.sqrt(timeframe_ms / DAY_MS) * np.exp(log_vol)
    shocks = sigma * rng.standard_t(TAIL_DF, n) / math.sqrt(TAIL_DF / (TAIL_DF - 2))
    body = shocks + _regime_moves(rng, shocks, sigma)
    jumps = np.flatnonzero(rng.random(n) < JUMP_PROBABILITY)
    body[jumps] += sigma[jumps] * rng.normal(0.0, JUMP_SIGMAS, len(jumps))

    gaps = _open_gaps(rng, sigma, times, timeframe_ms)
    log_close = math.log(start_price) + np.cumsum(gaps + body)
    log_open = np.concatenate(([math.log(start_price)], log_close[:-1])) + gaps
    open_, close = np.exp(log_open), np.exp(log_close)
    high = np.maximum(open_, close) * np.exp(sigma * rng.exponential(WICK_SIGMAS, n))
    low = np.minimum(open_, close) / np.exp(sigma * rng.exponential(WICK_SIGMAS, n))
    volume = (
        VOLUME_PER_MINUTE
        * (timeframe_ms / 60_000)
        * np.exp(0.8 * log_vol)
        * (0.5 + np.abs(body) / sigma)
        * rng.lognormal(0.0, 0.3, n)
    )

    frame = pd.DataFrame(
        {
            # Rounding and the floor are monotonic, so high >= max(open, close) >= low survives.
            "open": _price(open_),
            "high": _price(high),
            "low": _price(low),
            "close": _price(close),
            "volume": np.maximum(np.round(volume, 2), 0.01),
        },
        index=pd.DatetimeIndex(pd.to_datetime(times, unit="ms", utc=True), name="time"),
    )
    frame.attrs["synthetic"] = True
    frame.attrs["seed"] = seed
    return frame


def _price(values: FloatArray) -> FloatArray:
    return np.maximum(np.round(values, 5), 0.00001)


def _open_times(
    rng: np.random.Generator, n: int, timeframe_ms: int, start_ms: int, weekend_gaps: bool
) -> IntArray:
    """Open times with a few outages (runs of missing candles) and, optionally, no weekends."""
    skipped = np.zeros(n, dtype=np.int64)
    if n > 1:
        outages = 1 + n // OUTAGE_EVERY
        np.add.at(
            skipped, rng.integers(1, n, outages), rng.integers(1, MAX_OUTAGE_CANDLES + 1, outages)
        )
    offsets = (np.arange(n, dtype=np.int64) + np.cumsum(skipped)) * timeframe_ms
    if not weekend_gaps:
        return start_ms + offsets
    # Count time on a clock that only runs Monday to Friday, then map it back to the calendar.
    weeks, within = divmod(start_ms - _FIRST_MONDAY_MS, _WEEK_MS)
    trading = weeks * _TRADING_WEEK_MS + min(within, _TRADING_WEEK_MS) + offsets
    trading_weeks, trading_within = np.divmod(trading, _TRADING_WEEK_MS)
    times: IntArray = _FIRST_MONDAY_MS + trading_weeks * _WEEK_MS + trading_within
    return times


def _regime_moves(rng: np.random.Generator, shocks: FloatArray, sigma: FloatArray) -> FloatArray:
    """What the regime adds to each candle's random shock: a drift in trends, a pull back to the
    range's anchor (the price where the range began) in ranges."""
    n = len(shocks)
    drawn = rng.geometric(1 / MEAN_REGIME_CANDLES, n // MIN_REGIME_CANDLES + 1)
    lengths = np.maximum(drawn, MIN_REGIME_CANDLES)  # enough to cover n candles
    starts = np.concatenate(([0], np.cumsum(lengths)))
    starts = starts[: np.searchsorted(starts, n)]
    lengths = np.diff(np.append(starts, n))
    is_range = rng.random(len(starts)) < RANGE_SHARE
    drift = rng.uniform(*TREND_DRIFT_SIGMAS, len(starts))
    drift *= _trend_signs(rng, is_range, drift * np.add.reduceat(sigma, starts))

    start_of = np.repeat(starts, lengths)
    in_range = np.repeat(is_range, lengths)
    # Deviation from the anchor: an AR(1) of the shocks that restarts at zero with each range.
    keep = 1.0 - RANGE_PULL
    filtered = _ar1(np.where(in_range, shocks, 0.0), keep)
    before = np.concatenate(([0.0], filtered[:-1]))
    since_start = np.arange(n) - start_of
    deviation = before - keep**since_start * before[start_of]
    moves: FloatArray = np.repeat(drift, lengths) * sigma
    moves -= np.where(in_range, RANGE_PULL * deviation, 0.0)
    return moves


def _trend_signs(
    rng: np.random.Generator, is_range: npt.NDArray[np.bool_], planned_moves: FloatArray
) -> FloatArray:
    """+1 or -1 for each trend (0 for ranges), leaning against the drift accumulated so far."""
    signs = np.zeros(len(is_range))
    lean = rng.random(len(is_range))
    level = 0.0
    for k in np.flatnonzero(~is_range).tolist():
        up = lean[k] < 1.0 / (1.0 + math.exp(level / TREND_LEAN))
        signs[k] = 1.0 if up else -1.0
        level += signs[k] * planned_moves[k]
    return signs


def _open_gaps(
    rng: np.random.Generator, sigma: FloatArray, times: IntArray, timeframe_ms: int
) -> FloatArray:
    """Log distance from the previous close to each open: now and then a small gap, and after
    missing candles a move of the size the price would have made meanwhile."""
    n = len(sigma)
    missing = np.diff(times, prepend=times[0]) // timeframe_ms - 1
    scale = np.where(rng.random(n) < PRICE_GAP_PROBABILITY, PRICE_GAP_SIGMAS, 0.0)
    scale = np.hypot(scale, np.minimum(np.sqrt(np.maximum(missing, 0)), MAX_GAP_SIGMAS))
    scale[0] = 0.0  # the first candle opens at the start price
    gapped = np.flatnonzero(scale)
    gaps = np.zeros(n)
    gaps[gapped] = sigma[gapped] * scale[gapped] * rng.standard_normal(len(gapped))
    return gaps


def _ar1(noise: FloatArray, phi: float) -> FloatArray:
    """y[t] = phi * y[t-1] + noise[t] from y[-1] = 0, for 0 < phi < 1, without a Python loop over
    t: each block is a scaled cumulative sum, and only block ends are carried in a loop."""
    n = len(noise)
    block = max(1, min(n, int(_MAX_BLOCK_GROWTH / -math.log(phi))))
    blocks = np.concatenate((noise, np.zeros(-n % block))).reshape(-1, block)
    powers = phi ** np.arange(block)
    local = np.cumsum(blocks / powers, axis=1) * powers
    ends = local[:, -1].tolist()
    carried = [0.0]
    for end in ends[:-1]:
        carried.append(end + phi**block * carried[-1])
    state = np.array(carried)[:, None]
    filtered: FloatArray = (local + state * (powers * phi)).ravel()[:n]
    return filtered
