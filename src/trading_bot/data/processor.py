"""The DataProcessor: raw market data in, each closed candle out exactly once and in order.

Backtests and live trading share it. A backtest sends it a million closed candles, so the
closed-candle path does little more than compare one integer and publish; live feeds add partial
candle updates, duplicates, late messages and ticks, which it sorts out here so no strategy has
to.
"""

from __future__ import annotations

import math
from collections import Counter, deque
from collections.abc import Sequence

import structlog

from trading_bot.core.events import CandleDataProcessed, DataGap, MarketDataReceived
from trading_bot.core.hub import EventHub, Priority
from trading_bot.core.model import Candle, Tick

log = structlog.get_logger("trading_bot.data")


class _Series:
    """What the processor remembers of one (symbol, timeframe)."""

    __slots__ = ("forming", "history", "last_open", "resamplers")

    def __init__(self, history: int) -> None:
        self.history: deque[Candle] = deque(maxlen=history)
        self.last_open: int | None = None  # open time of the last published candle
        self.forming: Candle | None = None  # the venue's latest partial update
        self.resamplers: tuple[_Resampler, ...] | None = None  # fed by this series' candles


class _Bucket:
    """A candle being built, from ticks or from candles of a smaller timeframe."""

    __slots__ = ("close", "high", "low", "open", "open_time", "volume")

    def __init__(
        self, open_time: int, open: float, high: float, low: float, close: float, volume: float
    ) -> None:
        self.open_time = open_time
        self.open = open
        self.high = high
        self.low = low
        self.close = close
        self.volume = volume

    def add(self, high: float, low: float, close: float, volume: float) -> None:
        if high > self.high:
            self.high = high
        if low < self.low:
            self.low = low
        self.close = close
        self.volume += volume

    def candle(self, symbol: str, timeframe_ms: int, closed: bool = True) -> Candle:
        return Candle(
            symbol,
            timeframe_ms,
            self.open_time,
            self.open,
            self.high,
            self.low,
            self.close,
            self.volume,
            closed,
        )


class _Resampler:
    """Builds one larger timeframe of a symbol from the closed candles of one smaller one."""

    __slots__ = ("bucket", "output", "source_ms", "symbol", "timeframe_ms")

    def __init__(self, symbol: str, timeframe_ms: int, source_ms: int, output: _Series) -> None:
        self.symbol = symbol
        self.timeframe_ms = timeframe_ms
        self.source_ms = source_ms
        self.output = output
        self.bucket: _Bucket | None = None

    def close_passed(self, open_time: int) -> Candle | None:
        """The bucket a candle opening at `open_time` has moved past: complete as it is, since
        the candles it lacks are missing."""
        bucket = self.bucket
        if bucket is None or open_time < bucket.open_time + self.timeframe_ms:
            return None
        self.bucket = None
        return bucket.candle(self.symbol, self.timeframe_ms)

    def add(self, candle: Candle) -> Candle | None:
        """Aggregate `candle`; the resampled candle if it was the bucket's last one."""
        bucket = self.bucket
        if bucket is None:
            start = candle.open_time - candle.open_time % self.timeframe_ms
            bucket = self.bucket = _Bucket(
                start, candle.open, candle.high, candle.low, candle.close, candle.volume
            )
        else:
            bucket.add(candle.high, candle.low, candle.close, candle.volume)
        if candle.open_time + candle.timeframe_ms < bucket.open_time + self.timeframe_ms:
            return None
        self.bucket = None
        return bucket.candle(self.symbol, self.timeframe_ms)


class DataProcessor:
    """Turns `MarketDataReceived` into `CandleDataProcessed` (and `DataGap`) events.

    - Candles: partial updates (closed=False) are kept as the forming candle, never published;
      a closed candle is published unless one at or after its open time already was.
    - Ticks: aggregated into epoch-aligned candles of `tick_timeframe_ms`, closed by a tick of a
      later bucket or by `on_time`.
    - Resampling: closed candles also build each timeframe of `resample_to` that is a multiple
      of theirs, in epoch-aligned buckets (hours on the hour, days at midnight UTC).

    Every drop is counted in `dropped` by reason.
    """

    def __init__(
        self,
        hub: EventHub,
        resample_to: Sequence[int] = (),
        tick_timeframe_ms: int | None = None,
        history: int = 500,
    ) -> None:
        for timeframe in (*resample_to, tick_timeframe_ms or 1):
            if timeframe < 1:
                raise ValueError(f"timeframes must be positive milliseconds, got {timeframe}")
        if history < 1:
            raise ValueError(f"history must keep at least one candle, got {history}")
        self._hub = hub
        self._resample_to = tuple(sorted(set(resample_to)))
        self._tick_ms = tick_timeframe_ms
        self._history = history
        self._series: dict[tuple[str, int], _Series] = {}
        self._tick_buckets: dict[str, _Bucket] = {}
        self._resamplers: dict[tuple[str, int], _Resampler] = {}
        self.dropped: Counter[str] = Counter()
        hub.subscribe(MarketDataReceived, self.on_market_data, Priority.DATA)

    # -- queries -----------------------------------------------------------------------------

    def forming(self, symbol: str, timeframe_ms: int) -> Candle | None:
        """The candle still forming: the venue's latest partial update, or what ticks or
        resampling have built so far."""
        series = self._series.get((symbol, timeframe_ms))
        if series is not None and series.forming is not None:
            return series.forming
        resampler = self._resamplers.get((symbol, timeframe_ms))
        bucket = None if resampler is None else resampler.bucket
        if bucket is None and timeframe_ms == self._tick_ms:
            bucket = self._tick_buckets.get(symbol)
        return None if bucket is None else bucket.candle(symbol, timeframe_ms, closed=False)

    def recent(self, symbol: str, timeframe_ms: int) -> list[Candle]:
        """The last `history` published candles, oldest first."""
        series = self._series.get((symbol, timeframe_ms))
        return [] if series is None else list(series.history)

    def last_closed_time(self, symbol: str, timeframe_ms: int) -> int | None:
        """Open time of the last published candle; persist it to survive restarts."""
        series = self._series.get((symbol, timeframe_ms))
        return None if series is None else series.last_open

    def restore_last_closed(self, symbol: str, timeframe_ms: int, open_time: int) -> None:
        """After a restart: candles up to `open_time` were processed before, do not repeat them."""
        self._series_of(symbol, timeframe_ms).last_open = open_time

    def forget(self, symbol: str) -> None:
        """Drop all that is kept of `symbol` (it is no longer traded): if it comes back, it
        starts afresh instead of catching up from where it was left."""
        for key in [k for k in (*self._series, *self._resamplers) if k[0] == symbol]:
            self._series.pop(key, None)
            self._resamplers.pop(key, None)
        self._tick_buckets.pop(symbol, None)

    # -- input -------------------------------------------------------------------------------

    def on_market_data(self, event: MarketDataReceived) -> None:
        data = event.data
        if isinstance(data, Tick):
            self._on_tick(data)
        elif not (
            0 < data.low <= data.open <= data.high < math.inf
            and data.low <= data.close <= data.high
            and 0 <= data.volume < math.inf
        ):
            self._drop_invalid(data)
        elif data.closed:
            self._on_closed(data)
        else:
            self._on_partial(data)

    def on_time(self, now_ms: int) -> None:
        """Close every tick bucket that has ended by `now_ms`. The live edge calls this from a
        timer (allowing for the feed's latency), so a quiet market still closes its candles."""
        timeframe = self._tick_ms
        if timeframe is None:
            return
        ended = [s for s, b in self._tick_buckets.items() if b.open_time + timeframe <= now_ms]
        for symbol in ended:
            self._on_closed(self._tick_buckets.pop(symbol).candle(symbol, timeframe))

    # -- candles -----------------------------------------------------------------------------

    def _on_partial(self, candle: Candle) -> None:
        series = self._series_of(candle.symbol, candle.timeframe_ms)
        last, forming = series.last_open, series.forming
        if (last is not None and candle.open_time <= last) or (
            forming is not None and candle.open_time < forming.open_time
        ):
            self.dropped["stale_partial"] += 1
            return
        series.forming = candle

    def _on_closed(self, candle: Candle) -> None:
        """A closed candle from the feed or from ticks: publish it, and resample it."""
        series = self._series_of(candle.symbol, candle.timeframe_ms)
        if not self._admit(series, candle):
            return
        resamplers = series.resamplers
        if resamplers is None:
            resamplers = series.resamplers = self._claim_resamplers(candle)
        # A larger candle this one has moved past closed before this one did: publish it first.
        for resampler in resamplers:
            passed = resampler.close_passed(candle.open_time)
            if passed is not None:
                self._emit(resampler.output, passed)
        self._publish(series, candle)
        for resampler in resamplers:
            completed = resampler.add(candle)
            if completed is not None:
                self._emit(resampler.output, completed)

    def _admit(self, series: _Series, candle: Candle) -> bool:
        last = series.last_open
        if last is None or candle.open_time > last:
            return True
        self.dropped["duplicate" if candle.open_time == last else "stale"] += 1
        return False

    def _publish(self, series: _Series, candle: Candle) -> None:
        last = series.last_open
        if last is not None:
            missing = (candle.open_time - last) // candle.timeframe_ms - 1
            if missing > 0:
                self._hub.publish(DataGap(candle.symbol, candle.timeframe_ms, last, missing))
        series.last_open = candle.open_time
        series.history.append(candle)
        forming = series.forming
        if forming is not None and forming.open_time <= candle.open_time:
            series.forming = None
        self._hub.publish(CandleDataProcessed(candle))

    def _drop_invalid(self, data: Candle | Tick) -> None:
        self.dropped["invalid"] += 1
        log.warning("impossible market data dropped", data=data)

    # -- resampling --------------------------------------------------------------------------

    def _claim_resamplers(self, candle: Candle) -> tuple[_Resampler, ...]:
        """The resamplers fed by this candle's series: for each multiple of its timeframe, unless
        another timeframe of the symbol feeds it already (which would count every trade twice)."""
        symbol, source = candle.symbol, candle.timeframe_ms
        claimed = []
        for target in self._resample_to:
            if target > source and target % source == 0:
                resampler = self._resamplers.get((symbol, target))
                if resampler is None:
                    output = self._series_of(symbol, target)
                    resampler = _Resampler(symbol, target, source, output)
                    self._resamplers[symbol, target] = resampler
                if resampler.source_ms == source:
                    claimed.append(resampler)
        return tuple(claimed)

    def _emit(self, series: _Series, candle: Candle) -> None:
        """Publish a resampled candle, with the same exactly-once bookkeeping as any other."""
        if self._admit(series, candle):
            self._publish(series, candle)

    # -- ticks -------------------------------------------------------------------------------

    def _on_tick(self, tick: Tick) -> None:
        timeframe = self._tick_ms
        if timeframe is None:  # candles come from the venue; ticks are for other listeners
            return
        price = tick.price
        if not (0 < price < math.inf and tick.volume >= 0):
            self._drop_invalid(tick)
            return
        start = tick.time - tick.time % timeframe
        bucket = self._tick_buckets.get(tick.symbol)
        if bucket is None:
            last = self.last_closed_time(tick.symbol, timeframe)
            stale = last is not None and start <= last
        elif start == bucket.open_time:
            bucket.add(price, price, price, tick.volume)
            return
        else:
            stale = start < bucket.open_time
        if stale:
            self.dropped["stale_tick"] += 1
            return
        if bucket is not None:  # the first tick of a later bucket closes the current one
            del self._tick_buckets[tick.symbol]
            self._on_closed(bucket.candle(tick.symbol, timeframe))
        self._tick_buckets[tick.symbol] = _Bucket(start, price, price, price, price, tick.volume)

    def _series_of(self, symbol: str, timeframe_ms: int) -> _Series:
        key = (symbol, timeframe_ms)
        series = self._series.get(key)
        if series is None:
            series = self._series[key] = _Series(self._history)
        return series
