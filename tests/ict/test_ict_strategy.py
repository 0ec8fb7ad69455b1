"""The `ict` strategy: the model on a hand-made setup, causality, and every real data set."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from trading_bot.core.model import Direction, Signal
from trading_bot.core.ports import EntryGate
from trading_bot.data.files import iter_candles, load_candles
from trading_bot.strategies.registry import build_strategy

FIVE_MINUTES = 300_000
START = pd.Timestamp("2024-03-05T00:00:00Z")

# A range, a sweep of its swing low, a displacement candle breaking the last swing high and
# leaving a bullish fair value gap, a retracement into the gap, and a rally.
LONG_SETUP = [
    (100.0, 100.5, 99.5, 100.0),
    (100.0, 100.8, 99.6, 100.4),
    (100.4, 101.0, 100.0, 100.6),
    (100.6, 100.7, 99.8, 100.0),
    (100.0, 100.2, 99.0, 99.3),
    (99.3, 99.9, 99.2, 99.8),
    (99.8, 100.6, 99.6, 100.4),
    (100.4, 100.9, 100.1, 100.5),
    (100.5, 100.6, 99.7, 99.9),
    (99.9, 100.0, 99.4, 99.6),
    (99.6, 99.7, 98.6, 99.2),  # 10: sweeps the swing low 99.0, closes back above
    (99.2, 99.6, 99.0, 99.5),  # 11: the gap's first candle
    (99.5, 101.8, 99.4, 101.6),  # 12: displacement, closes above the swing high 101.0
    (101.6, 102.2, 100.2, 102.0),  # 13: leaves the gap 99.6-100.2
    (102.0, 102.1, 100.8, 101.0),
    (101.0, 101.2, 99.8, 100.1),  # 15: back into the gap
    (100.1, 101.5, 100.0, 101.4),
    (101.4, 103.5, 101.2, 103.2),
]
PARAMS = {
    "swing_length": 2,
    "atr_period": 3,
    "displacement_k": 1.0,
    "require_bias": False,
    "killzones": [],
}


def frame_of(rows: list[tuple[float, float, float, float]]) -> pd.DataFrame:
    index = pd.date_range(START, periods=len(rows), freq="5min", name="time")
    frame = pd.DataFrame(rows, columns=["open", "high", "low", "close"], index=index)
    frame["volume"] = 1.0
    return frame


def signals_of(
    frame: pd.DataFrame, gate: EntryGate | None = None, **params: object
) -> list[tuple[int, Signal]]:
    strategy = build_strategy("ict", {**PARAMS, **params}, "X", FIVE_MINUTES)
    strategy.entry_gate = gate
    found = []
    for i, candle in enumerate(iter_candles(frame, "X", FIVE_MINUTES)):
        signal = strategy.on_candle(candle)
        if signal is not None:
            found.append((i, signal))
    return found


def test_the_model_long_setup() -> None:
    ((bar, signal),) = signals_of(frame_of(LONG_SETUP))
    assert bar == 13  # the gap is complete at its third candle
    assert signal.direction is Direction.LONG
    assert signal.entry is not None and signal.stop_loss is not None
    assert 99.6 <= signal.entry <= 100.2  # in the gap
    high, low = 102.2, 98.6
    assert high - 0.79 * (high - low) <= signal.entry <= high - 0.62 * (high - low)  # in OTE
    assert signal.stop_loss < 98.6  # beyond the sweep's low
    assert signal.take_profit == pytest.approx(signal.entry + 2 * (signal.entry - signal.stop_loss))
    assert signal.expires == signal.time + 12 * FIVE_MINUTES
    assert "swept swing_low 99" in signal.reason and "FVG" in signal.reason


def test_the_mirror_image_is_a_short_setup() -> None:
    mirrored = [(200 - o, 200 - low, 200 - h, 200 - c) for o, h, low, c in LONG_SETUP]
    ((bar, signal),) = signals_of(frame_of(mirrored))
    assert bar == 13 and signal.direction is Direction.SHORT
    assert signal.stop_loss is not None and signal.stop_loss > 200 - 98.6
    assert "swept swing_high" in signal.reason


def test_no_setup_without_displacement_or_outside_the_killzones() -> None:
    assert signals_of(frame_of(LONG_SETUP), displacement_k=5.0) == []
    # These candles open from 19:00 to 20:25 New York time: not in the London killzone.
    assert signals_of(frame_of(LONG_SETUP), killzones=["london"]) == []


def test_unknown_killzone_is_a_parameter_error() -> None:
    from trading_bot.strategies.registry import StrategyError

    with pytest.raises(StrategyError, match="unknown killzone"):
        build_strategy("ict", {"killzones": ["tokyo"]}, "X", FIVE_MINUTES)


def test_the_setup_trades_through_the_pipeline_to_its_target() -> None:
    from trading_bot.backtest.runner import run_backtest
    from trading_bot.core.settings import ExecutionSettings, PipelineSettings, StrategySettings

    settings = PipelineSettings(
        strategy=StrategySettings(name="ict", params=PARAMS),
        execution=ExecutionSettings(fee_rate=0),
    )
    (trade,) = run_backtest(frame_of(LONG_SETUP), settings, "X").trades
    ((_, signal),) = signals_of(frame_of(LONG_SETUP))
    assert trade.side is Direction.LONG
    assert float(trade.entry_price) == pytest.approx(signal.entry, abs=1e-5)
    assert trade.exit_reason == "take_profit"
    assert float(trade.exit_price) == pytest.approx(signal.take_profit, abs=1e-5)
    assert trade.entry_reason == signal.reason  # the rationale travels with the trade


@pytest.mark.parametrize("end", [1500, 2400, 3000])
def test_signals_on_a_prefix_are_the_prefix_of_the_signals(shared_data: Path, end: int) -> None:
    frame = load_candles(shared_data / "binance-BTCUSDT-5m.csv.gz").iloc[:3000]
    params = {"killzones": [], "require_bias": False}
    whole = signals_of(frame, **params)
    assert len(whole) >= 3
    assert signals_of(frame.iloc[:end], **params) == [(i, s) for i, s in whole if i < end]


@pytest.mark.parametrize(
    "name",
    [
        "binance-BTCUSDT-1h",
        "binance-BTCUSDT-5m",
        "binance-ETHUSDT-5m",
        "histdata-EURUSD-1m",
        "mt5-EURUSD-15m",
        "oanda-EURUSD-1h",
    ],
)
def test_default_ict_backtests_trade_with_stops_and_targets(shared_data: Path, name: str) -> None:
    from trading_bot.backtest.runner import run_backtest
    from trading_bot.core.settings import PipelineSettings, StrategySettings

    day = "forex" if "EURUSD" in name else "utc"
    settings = PipelineSettings(strategy=StrategySettings(name="ict", params={"trading_day": day}))
    result = run_backtest(load_candles(shared_data / f"{name}.csv.gz"), settings, name)
    reasons = {t.exit_reason for t in result.trades}
    assert len(result.trades) >= 5
    assert {"stop_loss", "take_profit"} <= reasons


@pytest.mark.parametrize(("text", "zones"), [("", ()), ("london, ny_am", ("london", "ny_am"))])
def test_killzones_from_the_command_line(text: str, zones: tuple[str, ...]) -> None:
    strategy = build_strategy("ict", {"killzones": text}, "X", FIVE_MINUTES)
    assert strategy.params.killzones == zones  # type: ignore[attr-defined]


class Blackout:
    """An entry gate blocking [start, end) (ms), as the economic calendar does around news."""

    def __init__(self, start: int, end: int) -> None:
        self.start, self.end = start, end

    def entry_block(self, symbol: str, time_ms: int) -> str | None:
        return "news blackout: NFP" if self.start <= time_ms < self.end else None


def blackout_signals(first_bar: int, last_bar: int) -> list[tuple[int, Signal]]:
    """The long setup's signals with entries blocked while bars first..last close."""
    frame = frame_of(LONG_SETUP)
    close_of = [c.close_time for c in iter_candles(frame, "X", FIVE_MINUTES)]
    return signals_of(frame, Blackout(close_of[first_bar], close_of[last_bar] + 1))


def test_no_setup_is_taken_in_a_blackout() -> None:
    assert blackout_signals(12, 17) == []


def test_an_entry_waiting_to_fill_is_canceled_when_a_blackout_begins() -> None:
    (entry_bar, entry), (cancel_bar, cancel) = blackout_signals(14, 17)
    assert entry_bar == 13 and entry.direction is Direction.LONG
    assert cancel_bar == 14 and cancel.direction is Direction.FLAT
    assert cancel.reason == "entry canceled: news blackout: NFP"
