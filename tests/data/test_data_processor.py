from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trading_bot.core.events import CandleDataProcessed, DataGap, Event, MarketDataReceived
from trading_bot.core.hub import EventHub
from trading_bot.core.model import Candle, Tick
from trading_bot.data.files import frame_to_arrays, load_candles
from trading_bot.data.processor import DataProcessor

SECOND = 1_000
MINUTE = 60_000
HOUR = 3_600_000
DAY = 86_400_000
T0 = 1_609_459_200_000  # 2021-01-01T00:00:00Z


class Recorder:
    """Everything the processor publishes, in order."""

    def __init__(self, hub: EventHub) -> None:
        self.events: list[Event] = []
        hub.subscribe(CandleDataProcessed, self.events.append)
        hub.subscribe(DataGap, self.events.append)

    def candles(self, timeframe_ms: int | None = None) -> list[Candle]:
        return [
            e.candle
            for e in self.events
            if isinstance(e, CandleDataProcessed) and timeframe_ms in (None, e.candle.timeframe_ms)
        ]

    def gaps(self) -> list[DataGap]:
        return [e for e in self.events if isinstance(e, DataGap)]


def setup(**options: object) -> tuple[EventHub, DataProcessor, Recorder]:
    hub = EventHub()
    processor = DataProcessor(hub, **options)  # type: ignore[arg-type]
    return hub, processor, Recorder(hub)


def candle(
    minute: int,
    close: float = 100.0,
    closed: bool = True,
    symbol: str = "BTCUSDT",
    timeframe_ms: int = MINUTE,
    volume: float = 1.0,
) -> Candle:
    return Candle(
        symbol,
        timeframe_ms,
        T0 + minute * timeframe_ms,
        open=100.0,
        high=max(close, 100.0) + 1,
        low=min(close, 100.0) - 1,
        close=close,
        volume=volume,
        closed=closed,
    )


def send(hub: EventHub, *items: Candle | Tick) -> None:
    for item in items:
        hub.publish(MarketDataReceived(item))


# -- candle updates -----------------------------------------------------------------------------


def test_partial_updates_are_held_and_only_the_closed_candle_is_published() -> None:
    hub, processor, recorder = setup()
    send(hub, *(candle(0, close=100 + i, closed=False) for i in range(50)))

    assert recorder.events == []
    assert processor.forming("BTCUSDT", MINUTE) == candle(0, close=149, closed=False)

    send(hub, candle(0, close=150))

    assert recorder.candles() == [candle(0, close=150)]
    assert processor.forming("BTCUSDT", MINUTE) is None
    assert processor.last_closed_time("BTCUSDT", MINUTE) == T0


def test_partial_updates_alone_never_make_a_closed_candle() -> None:
    hub, processor, recorder = setup()

    send(hub, candle(0, closed=False), candle(1, closed=False), candle(2, closed=False))

    assert recorder.events == []
    assert processor.forming("BTCUSDT", MINUTE) == candle(2, closed=False)


def test_duplicates_and_stale_candles_are_dropped_and_counted() -> None:
    hub, processor, recorder = setup()

    send(hub, candle(0), candle(1), candle(1, close=101), candle(0), candle(1, closed=False))
    send(hub, candle(3, closed=False), candle(2, closed=False))

    assert recorder.candles() == [candle(0), candle(1)]
    assert processor.dropped == {"duplicate": 1, "stale": 1, "stale_partial": 2}
    assert processor.forming("BTCUSDT", MINUTE) == candle(3, closed=False)


def test_out_of_order_candles_are_published_in_order_once() -> None:
    hub, processor, recorder = setup()

    send(hub, candle(0), candle(2), candle(1), candle(3))

    assert recorder.events == [
        CandleDataProcessed(candle(0)),
        DataGap("BTCUSDT", MINUTE, after_open_time=T0, missing=1),
        CandleDataProcessed(candle(2)),
        CandleDataProcessed(candle(3)),
    ]
    assert processor.dropped == {"stale": 1}


def test_a_gap_is_announced_before_the_candle_after_it() -> None:
    hub, _, recorder = setup()

    send(hub, candle(0), candle(1), candle(6))

    assert recorder.events[2:] == [
        DataGap("BTCUSDT", MINUTE, after_open_time=T0 + MINUTE, missing=4),
        CandleDataProcessed(candle(6)),
    ]


def test_symbols_and_timeframes_are_tracked_separately() -> None:
    hub, processor, recorder = setup()

    send(hub, candle(5), candle(0, symbol="ETHUSDT"), candle(0, timeframe_ms=HOUR), candle(6))

    assert len(recorder.candles()) == 4 and recorder.gaps() == []
    assert processor.last_closed_time("ETHUSDT", MINUTE) == T0
    assert processor.last_closed_time("BTCUSDT", HOUR) == T0
    assert processor.last_closed_time("BTCUSDT", MINUTE) == T0 + 6 * MINUTE


@pytest.mark.parametrize(
    "bad",
    [
        Candle("BTCUSDT", MINUTE, T0, open=100, high=99, low=98, close=99),
        Candle("BTCUSDT", MINUTE, T0, open=100, high=101, low=100.5, close=101),
        Candle("BTCUSDT", MINUTE, T0, open=0, high=1, low=0, close=1),
        Candle("BTCUSDT", MINUTE, T0, open=float("nan"), high=101, low=99, close=100),
        Candle("BTCUSDT", MINUTE, T0, open=100, high=101, low=99, close=100, volume=-1),
    ],
    ids=["high below open", "low above open", "zero price", "nan", "negative volume"],
)
def test_impossible_candles_are_dropped_and_counted(bad: Candle) -> None:
    hub, processor, recorder = setup()

    send(hub, bad)

    assert recorder.events == [] and processor.dropped == {"invalid": 1}


def test_history_is_bounded_to_the_most_recent_candles() -> None:
    hub, processor, _ = setup(history=3)

    send(hub, *(candle(i) for i in range(10)))

    assert processor.recent("BTCUSDT", MINUTE) == [candle(7), candle(8), candle(9)]
    assert processor.recent("ETHUSDT", MINUTE) == []


def test_a_restored_processor_does_not_publish_what_was_processed_before() -> None:
    hub, processor, recorder = setup()
    processor.restore_last_closed("BTCUSDT", MINUTE, T0 + 2 * MINUTE)

    send(hub, candle(1), candle(2), candle(3))

    assert recorder.candles() == [candle(3)]
    assert processor.dropped == {"stale": 1, "duplicate": 1}


def test_rejects_impossible_settings() -> None:
    with pytest.raises(ValueError, match="history must keep at least one candle"):
        DataProcessor(EventHub(), history=0)
    with pytest.raises(ValueError, match="timeframes must be positive milliseconds, got 0"):
        DataProcessor(EventHub(), resample_to=[0])


# -- ticks --------------------------------------------------------------------------------------


def tick(ms: int, price: float, volume: float = 1.0, symbol: str = "EURUSD") -> Tick:
    return Tick(symbol, T0 + ms, price, volume)


def test_ticks_make_candles_closed_by_the_next_bucket_or_the_clock() -> None:
    hub, processor, recorder = setup(tick_timeframe_ms=MINUTE)

    send(hub, tick(0, 1.10), tick(10_000, 1.12, 2), tick(59_999, 1.09), tick(60_000, 1.11, 3))

    assert recorder.candles() == [Candle("EURUSD", MINUTE, T0, 1.10, 1.12, 1.09, 1.09, 4.0)]
    assert processor.forming("EURUSD", MINUTE) == Candle(
        "EURUSD", MINUTE, T0 + MINUTE, 1.11, 1.11, 1.11, 1.11, 3.0, closed=False
    )

    processor.on_time(T0 + 2 * MINUTE - 1)
    assert len(recorder.candles()) == 1
    processor.on_time(T0 + 2 * MINUTE)
    assert recorder.candles()[-1] == Candle(
        "EURUSD", MINUTE, T0 + MINUTE, 1.11, 1.11, 1.11, 1.11, 3
    )
    assert processor.forming("EURUSD", MINUTE) is None


def test_late_ticks_are_dropped_and_counted() -> None:
    hub, processor, recorder = setup(tick_timeframe_ms=MINUTE)

    send(hub, tick(0, 1.10), tick(60_000, 1.11), tick(59_000, 1.50))
    processor.on_time(T0 + 2 * MINUTE)
    send(hub, tick(119_000, 1.60), tick(125_000, 1.12))

    assert [c.high for c in recorder.candles()] == [1.10, 1.11]
    assert processor.dropped == {"stale_tick": 2}
    assert processor.forming("EURUSD", MINUTE) is not None


def test_without_a_tick_timeframe_ticks_are_for_other_listeners_not_candles() -> None:
    """A venue streams its own candles; its trades, if subscribed, are ticks beside them."""
    hub, processor, recorder = setup()

    send(hub, tick(0, 1.1), tick(1, float("nan")))
    processor.on_time(T0 + DAY)

    assert recorder.events == [] and processor.dropped == {}
    assert processor.forming("EURUSD", MINUTE) is None


def test_impossible_ticks_are_dropped_and_counted() -> None:
    hub, processor, _ = setup(tick_timeframe_ms=MINUTE)

    send(hub, tick(0, float("nan")), tick(1, -1.0), tick(2, float("inf")), tick(3, 1.1, -1))

    assert processor.forming("EURUSD", MINUTE) is None and processor.dropped == {"invalid": 4}


tick_streams = st.lists(
    st.tuples(
        st.integers(0, 3 * SECOND),  # time since the previous tick: buckets may stay empty
        st.floats(0.5, 2.0, allow_nan=False, allow_infinity=False),
        st.integers(0, 1_000).map(float),  # whole volumes: sums are exact in any order
    ),
    min_size=1,
    max_size=300,
)


@settings(max_examples=200, deadline=None)
@given(stream=tick_streams, start=st.integers(0, 10 * SECOND))
def test_tick_candles_equal_a_pandas_resample_of_the_ticks(
    stream: list[tuple[int, float, float]], start: int
) -> None:
    hub, processor, recorder = setup(tick_timeframe_ms=SECOND)
    times = T0 + start + np.cumsum([step for step, _, _ in stream])
    ticks = [Tick("EURUSD", int(t), p, v) for t, (_, p, v) in zip(times, stream, strict=True)]

    send(hub, *ticks)
    published_before_clock = len(recorder.candles())
    processor.on_time(int(times[-1]) - int(times[-1]) % SECOND + SECOND)

    expected = _pandas_candles(ticks, SECOND)
    assert published_before_clock == len(expected) - 1  # the last bucket waits for the clock
    assert recorder.events == _with_gaps(expected)
    assert processor.dropped == {}


def _pandas_candles(ticks: list[Tick], timeframe_ms: int) -> list[Candle]:
    frame = pd.DataFrame(
        {"price": [t.price for t in ticks], "volume": [t.volume for t in ticks]},
        index=pd.to_datetime([t.time for t in ticks], unit="ms", utc=True),
    )
    bars = frame.resample(f"{timeframe_ms}ms", origin="epoch").agg(
        {"price": ["first", "max", "min", "last", "count"], "volume": "sum"}
    )
    bars = bars[bars[("price", "count")] > 0]
    return [
        Candle(ticks[0].symbol, timeframe_ms, int(time.value // 1_000_000), *values)
        for time, values in zip(
            bars.index,
            bars[[("price", a) for a in ["first", "max", "min", "last"]] + [("volume", "sum")]]
            .to_numpy()
            .tolist(),
            strict=True,
        )
    ]


def _with_gaps(candles: list[Candle]) -> list[Event]:
    events: list[Event] = []
    for previous, current in zip([None, *candles], candles, strict=False):
        if previous is not None:
            missing = (current.open_time - previous.open_time) // current.timeframe_ms - 1
            if missing:
                events.append(
                    DataGap(current.symbol, current.timeframe_ms, previous.open_time, missing)
                )
        events.append(CandleDataProcessed(current))
    return events


# -- resampling ---------------------------------------------------------------------------------


def test_resampling_a_real_minute_file_to_hours_equals_pandas(shared_data: Path) -> None:
    frame = load_candles(shared_data / "histdata-EURUSD-1m.csv.gz")
    hub, processor, recorder = setup(resample_to=[HOUR])

    for t, o, h, low, c, v in zip(*(a.tolist() for a in frame_to_arrays(frame)), strict=True):
        hub.publish(MarketDataReceived(Candle("EURUSD", MINUTE, t, o, h, low, c, v)))

    hours = frame.resample("1h").agg(
        {"open": "first", "high": "max", "low": "min", "close": "last", "volume": ["sum", "size"]}
    )
    hours.columns = ["open", "high", "low", "close", "volume", "minutes"]
    hours = hours[hours["minutes"] > 0]
    published = pd.DataFrame(
        [(c.open, c.high, c.low, c.close, c.volume) for c in recorder.candles(HOUR)],
        columns=["open", "high", "low", "close", "volume"],
        index=pd.to_datetime([c.open_time for c in recorder.candles(HOUR)], unit="ms", utc=True),
    )
    complete = hours[hours["minutes"] == 60].drop(columns="minutes")
    assert len(complete) > 2_000
    pd.testing.assert_frame_equal(published.loc[complete.index], complete, check_names=False)
    # Hours with missing minutes are published with what they had; the last one still forms.
    pd.testing.assert_frame_equal(
        published, hours.drop(columns="minutes").iloc[:-1], check_names=False, check_freq=False
    )
    assert len(recorder.candles(MINUTE)) == len(frame) and processor.dropped == {}


def test_a_resampled_candle_follows_the_candle_that_completes_it() -> None:
    hub, processor, recorder = setup(resample_to=[5 * MINUTE])

    send(hub, *(candle(i, close=100 + i, volume=i) for i in range(5)))

    assert recorder.candles() == [
        *(candle(i, close=100 + i, volume=i) for i in range(5)),
        Candle("BTCUSDT", 5 * MINUTE, T0, 100, 105, 99, 104, 10),
    ]
    assert processor.forming("BTCUSDT", 5 * MINUTE) is None


def test_a_bucket_left_incomplete_closes_before_the_candle_of_a_later_bucket() -> None:
    hub, processor, recorder = setup(resample_to=[5 * MINUTE])

    send(hub, candle(0), candle(1), candle(12), candle(13, close=103))

    assert recorder.events == [
        CandleDataProcessed(candle(0)),
        CandleDataProcessed(candle(1)),
        CandleDataProcessed(Candle("BTCUSDT", 5 * MINUTE, T0, 100, 101, 99, 100, 2)),
        DataGap("BTCUSDT", MINUTE, after_open_time=T0 + MINUTE, missing=10),
        CandleDataProcessed(candle(12)),
        CandleDataProcessed(candle(13, close=103)),
    ]
    assert processor.forming("BTCUSDT", 5 * MINUTE) == Candle(
        "BTCUSDT", 5 * MINUTE, T0 + 10 * MINUTE, 100, 104, 99, 103, 2, closed=False
    )

    send(hub, candle(15))

    assert recorder.events[-4:] == [
        DataGap("BTCUSDT", 5 * MINUTE, after_open_time=T0, missing=1),
        CandleDataProcessed(Candle("BTCUSDT", 5 * MINUTE, T0 + 10 * MINUTE, 100, 104, 99, 103, 2)),
        DataGap("BTCUSDT", MINUTE, after_open_time=T0 + 13 * MINUTE, missing=1),
        CandleDataProcessed(candle(15)),
    ]


def test_daily_buckets_start_at_midnight_utc() -> None:
    hub, _, recorder = setup(resample_to=[DAY])
    first_hour = 20  # the feed starts in the evening

    send(hub, *(candle(h, timeframe_ms=HOUR) for h in range(first_hour, 48)))

    days = recorder.candles(DAY)
    assert [d.open_time for d in days] == [T0, T0 + DAY]
    assert [d.volume for d in days] == [24 - first_hour, 24]


def test_resampled_candles_are_published_once_even_if_the_venue_sends_them_too() -> None:
    hub, processor, recorder = setup(resample_to=[5 * MINUTE])

    send(hub, *(candle(i) for i in range(5)), candle(0, timeframe_ms=5 * MINUTE))

    assert len(recorder.candles(5 * MINUTE)) == 1 and processor.dropped == {"duplicate": 1}


def test_a_resampled_timeframe_is_built_from_one_source_timeframe_only() -> None:
    hub, _, recorder = setup(resample_to=[15 * MINUTE])

    send(
        hub,
        *(candle(i) for i in range(15)),
        *(candle(i, timeframe_ms=5 * MINUTE) for i in range(3)),
    )

    assert recorder.candles(15 * MINUTE) == [
        Candle("BTCUSDT", 15 * MINUTE, T0, 100, 101, 99, 100, 15)
    ]


def test_tick_candles_feed_the_resampler() -> None:
    hub, _, recorder = setup(tick_timeframe_ms=MINUTE, resample_to=[HOUR])

    send(hub, *(tick(m * MINUTE, 1.0 + m / 1000) for m in range(61)))

    assert recorder.candles(HOUR) == [Candle("EURUSD", HOUR, T0, 1.0, 1.059, 1.0, 1.059, 60)]
