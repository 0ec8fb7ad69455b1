"""`trading-bot plot`: the chart file, the layers its figure holds, a strategy's setups, and
user errors."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest
from typer.testing import CliRunner

from tests.ict.test_ict_strategy import LONG_SETUP, PARAMS, START, frame_of
from trading_bot.backtest.ict_plot import (
    MAX_CANDLES,
    PlotError,
    PlotWindow,
    ict_figure,
    ict_layers,
    run_strategy,
    select_window,
    write_ict_plot,
)
from trading_bot.cli import app
from trading_bot.core.model import Direction
from trading_bot.core.settings import ExecutionSettings, PipelineSettings, StrategySettings
from trading_bot.data.files import load_candles, save_candles
from trading_bot.data.synthetic import generate_candles
from trading_bot.data.timeframes import parse_time
from trading_bot.strategies.ict.indicators.fvg import fvg
from trading_bot.strategies.ict.indicators.order_blocks import order_blocks
from trading_bot.strategies.ict.indicators.structure import market_structure
from trading_bot.strategies.ict.indicators.swings import swing_highs_lows
from trading_bot.strategies.ict.strategy import IctParams

runner = CliRunner()
FIVE_MINUTES = 300_000
HOUR = 3_600_000


def invoke(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    assert "Traceback" not in result.output
    return result.exit_code, result.output


@pytest.fixture(scope="module")
def candles(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two weeks of synthetic 5m candles from 2024-01-01."""
    path = tmp_path_factory.mktemp("data") / "syn.csv.gz"
    save_candles(generate_candles(4032, FIVE_MINUTES, 7, parse_time("2024-01-01", "t")), path)
    return path


@pytest.fixture(scope="module")
def eurusd(shared_data: Path) -> pd.DataFrame:
    return load_candles(shared_data / "mt5-EURUSD-15m.csv.gz")


@pytest.fixture(scope="module")
def btcusdt(shared_data: Path) -> pd.DataFrame:
    return load_candles(shared_data / "binance-BTCUSDT-5m.csv.gz")


def window_of(frame: pd.DataFrame, start: str, end: str) -> PlotWindow:
    return select_window(frame, parse_time(start, "--start"), parse_time(end, "--end"))


def traces(figure: go.Figure, group: str) -> list[Any]:
    return [t for t in figure.data if t.legendgroup == group]


def shapes_drawn(trace: Any) -> int:
    """Boxes or lines in a trace: each is a run of points ended by None."""
    return sum(1 for x in trace.x if x is None)


def test_the_command_writes_a_standalone_chart(candles: Path, tmp_path: Path) -> None:
    out = tmp_path / "chart.html"
    code, output = invoke(
        "plot", "--data", str(candles), "--start", "2024-01-10", "--end", "2024-01-11T12:00",
        "--out", str(out),
    )  # fmt: skip
    assert code == 0, output
    assert "432 candles" in output and str(out) in output.replace("\n", "")
    html = out.read_text()
    assert html.startswith("<!DOCTYPE html>")
    assert not re.search(r"<script[^>]+src=", html)  # plotly.js is inline, nothing is fetched
    assert not re.search(r"<link[^>]+href=", html)
    assert len(html) > 3_000_000  # plotly.js itself
    assert '<meta name="viewport"' in html


def test_the_figure_holds_each_layer_known_in_the_window(eurusd: pd.DataFrame) -> None:
    window = window_of(eurusd, "2023-01-10", "2023-01-12")
    assert window.candles == 192 and window.start >= 500  # the indicators saw history first
    params = IctParams()
    layers = ict_layers(window, params)
    figure = ict_figure(window, layers)
    ohlc, start = window.ohlc, window.start

    gaps = fvg(ohlc)
    mitigated = gaps["mitigated"].to_numpy()
    known = gaps["fvg"].notna().to_numpy() & ((mitigated == -1) | (mitigated >= start))
    assert len(layers.fvgs) == int(known.sum()) > 10
    bull, bear = traces(figure, "fvg-bull"), traces(figure, "fvg-bear")
    assert [t.name for t in bull + bear] == ["Bull FVG", "Bear FVG"]
    gap_sides = gaps["fvg"].to_numpy()[known]
    assert shapes_drawn(bull[0]) == int((gap_sides == 1).sum())
    assert shapes_drawn(bear[0]) == int((gap_sides == -1).sum())

    blocks = order_blocks(ohlc, params.swing_length, params.displacement_k, params.atr_period)
    invalidated = blocks["invalidated"].to_numpy()
    alive = blocks["ob"].notna().to_numpy() & ((invalidated == -1) | (invalidated >= start))
    drawn = [shapes_drawn(t) for t in traces(figure, "ob-bull") + traces(figure, "ob-bear")]
    assert sum(drawn) == int(alive.sum()) > 0

    structure = market_structure(ohlc, params.swing_length)
    breaks = int((structure["broken_swing"].to_numpy()[start:] >= 0).sum())
    (lines,) = (t for t in traces(figure, "structure") if t.mode == "lines")
    assert shapes_drawn(lines) == breaks > 0
    (labels,) = (t for t in traces(figure, "structure") if t.mode == "text")
    assert set(labels.text) <= {"BOS", "CHoCH", ""} and len(labels.text) == breaks
    assert "BOS" in labels.text and "CHoCH" in labels.text

    swings = swing_highs_lows(ohlc, params.swing_length)
    (markers,) = traces(figure, "swings")
    assert len(markers.x) == int(swings["swing"].notna().to_numpy()[start:].sum()) > 0

    (sweeps,) = traces(figure, "sweeps")
    assert len(sweeps.x) == len(layers.sweeps) > 0
    assert all("swept" in text for text in sweeps.text)

    day = [s for s in layers.levels if s.family == "day"]
    assert {s.label for s in day} >= {"PDH", "PDL"}
    assert sum(shapes_drawn(t) for t in traces(figure, "level-day") if t.mode == "lines") == len(
        day
    )

    # Killzones: shaded bands behind the candles, one legend entry per killzone.
    bands = [s for s in figure.layout.shapes if s.legendgroup.startswith("killzone-")]
    assert len(bands) == len(layers.killzones) == 8  # two days of four killzones
    assert {s.name for s in bands if s.showlegend} == {
        "Asia KZ",
        "London KZ",
        "NY AM KZ",
        "NY PM KZ",
    }
    assert all(s.yref == "paper" and s.layer == "below" for s in bands)

    # Every layer is one legend entry that hides or shows all of it.
    shown = [t.legendgroup or t.name for t in figure.data if t.showlegend is not False]
    assert len(shown) == len(set(shown))
    assert all(t.legendgroup or t.name == "Candles" for t in figure.data)


def test_items_are_drawn_until_they_end_and_clipped_to_the_window(eurusd: pd.DataFrame) -> None:
    window = window_of(eurusd, "2023-03-14", "2023-03-16")
    layers = ict_layers(window, IctParams())
    times = pd.DatetimeIndex(window.ohlc.index).asi8 // 1_000_000
    half = window.half
    left, right = times[window.start] - half, times[-1] + half
    items = [*layers.fvgs, *layers.order_blocks, *layers.levels, *layers.breaks]
    assert all(left <= item.x0 < item.x1 <= right for item in items)
    # Gaps formed before the window and still open when it starts begin at its left edge.
    assert any(box.x0 == left for box in layers.fvgs)
    gaps = fvg(window.ohlc)
    for box in layers.fvgs:
        (row,) = np.flatnonzero((gaps["top"] == box.top) & (gaps["bottom"] == box.bottom))[:1]
        end = gaps["mitigated"].iloc[row]
        assert box.x1 == (right if end == -1 else times[end] + half)


def test_killzones_keep_new_york_time_across_daylight_saving(btcusdt: pd.DataFrame) -> None:
    def london_opens(day: str, end: str) -> list[pd.Timestamp]:
        window = window_of(btcusdt, day, end)
        bands = ict_layers(window, IctParams()).killzones
        return [pd.Timestamp(b.x0 + window.half, unit="ms") for b in bands if b.name == "london"]

    # 02:00 New York is 07:00 UTC in winter and 06:00 UTC in summer.
    assert [t.hour for t in london_opens("2021-01-12", "2021-01-13")] == [7]
    assert [t.hour for t in london_opens("2021-07-13", "2021-07-14")] == [6]


def setup_settings() -> PipelineSettings:
    return PipelineSettings(
        strategy=StrategySettings(name="ict", params=PARAMS),
        execution=ExecutionSettings(fee_rate=0),
    )


def setup_window(rows: list[tuple[float, float, float, float]]) -> PlotWindow:
    frame = frame_of(rows)
    start = int(START.value // 1_000_000)
    return select_window(frame, start, start + len(rows) * FIVE_MINUTES)


def test_a_trade_is_drawn_with_its_entry_stop_target_exit_and_reason(tmp_path: Path) -> None:
    window = setup_window(LONG_SETUP)
    run = run_strategy(window, setup_settings(), "X")
    (setup,) = run.setups
    signal, trade = setup.signal, setup.trade
    assert signal is not None and trade is not None
    assert trade.side is Direction.LONG and setup.outcome == "take_profit"
    assert signal.stop_loss is not None and signal.take_profit is not None
    figure = ict_figure(window, ict_layers(window, IctParams.model_validate(PARAMS)), run)

    (stop,) = (t for t in traces(figure, "trade-stop") if t.mode == "lines")
    (target,) = (t for t in traces(figure, "trade-target") if t.mode == "lines")
    signal_x, exit_x = signal.time - window.half, float(trade.exit_time)
    assert list(stop.x) == [signal_x, exit_x, None]
    assert list(stop.y)[:2] == [signal.stop_loss] * 2
    assert list(target.x) == [signal_x, exit_x, None]
    assert list(target.y)[:2] == [signal.take_profit] * 2
    (entry,) = traces(figure, "trade-long")
    assert list(entry.x) == [trade.entry_time] and list(entry.y) == [float(trade.entry_price)]
    (exit_,) = traces(figure, "trade-exit")
    assert list(exit_.y) == [float(trade.exit_price)]
    assert "swept swing_low" in entry.text[0] and "take_profit" in entry.text[0]
    # The stop and target are on the chart, not cut off by the price axis.
    low, high = figure.layout.yaxis.range
    assert low < signal.stop_loss and signal.take_profit < high

    out = tmp_path / "setup.html"
    write_ict_plot(out, figure, window, "X 5m", run)
    html = out.read_text()
    assert "Setups (1)" in html and "swept swing_low" in html


def test_a_setup_that_did_not_fill_is_drawn_apart() -> None:
    window = setup_window(LONG_SETUP[:15])  # the data ends before price comes back to the gap
    run = run_strategy(window, setup_settings(), "X")
    (setup,) = run.setups
    assert setup.trade is None and setup.outcome == "not filled by expiry"
    figure = ict_figure(window, ict_layers(window, IctParams.model_validate(PARAMS)), run)
    (unfilled,) = traces(figure, "trade-unfilled")
    assert setup.signal is not None and list(unfilled.y) == [setup.signal.entry]
    assert not traces(figure, "trade-long")[0].x


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2023-01-05", "2023-01-05T00:00:00Z"),
        ("2023-01-05T14:30", "2023-01-05T14:30:00Z"),
        ("2023-01-05 14:30Z", "2023-01-05T14:30:00Z"),
        ("2023-01-05T16:30+02:00", "2023-01-05T14:30:00Z"),
    ],
)
def test_times_are_iso_and_utc(text: str, expected: str) -> None:
    assert parse_time(text, "--start") == pd.Timestamp(expected).value // 1_000_000


def test_the_window_is_capped() -> None:
    index = pd.date_range("1970-01-01", periods=MAX_CANDLES + 10, freq="1h", tz="UTC")
    frame = pd.DataFrame({"open": 1.0, "high": 1.0, "low": 1.0, "close": 1.0}, index=index)
    with pytest.raises(PlotError, match=r"narrow the range, for example --end 1970-05-06$"):
        select_window(frame, 0, (MAX_CANDLES + 10) * HOUR)
    assert select_window(frame, 0, MAX_CANDLES * HOUR).candles == MAX_CANDLES


DAY = ["--start", "2024-01-10", "--end", "2024-01-11"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--start", "2024-13-01", "--end", "2024-01-11"], "--start '2024-13-01' is not an ISO"),
        (["--start", "2024-01-10", "--end", "2024-01-09"], "--end 2024-01-09 is not after"),
        (
            ["--start", "2025-01-01", "--end", "2025-01-02"],
            "no candles from 2025-01-01 to 2025-01-02: the data covers 2024-01-01 to",
        ),
        (["--start", "2024-01-01", "--end", "2024-01-31"], "more than the 3,000 a chart shows"),
        ([*DAY, "--strategy", "nope"], "unknown strategy 'nope'"),
        ([*DAY, "--strategy", "ict", "--param", "swing_length=0"], "swing_length = '0'"),
        ([*DAY, "--param", "speed=3"], "parameter speed"),
        ([*DAY, "--param", "speed"], "is not KEY=VALUE"),
    ],
)
def test_user_errors_are_one_line_and_exit_2(
    candles: Path, tmp_path: Path, args: list[str], message: str
) -> None:
    out = tmp_path / "chart.html"
    code, output = invoke("plot", "--data", str(candles), *args, "--out", str(out))
    assert code == 2
    assert message in output.replace("\n", " ")
    assert not out.exists()


def test_a_missing_file_and_an_unwritable_output_are_named(candles: Path, tmp_path: Path) -> None:
    code, output = invoke(
        "plot", "--data", str(tmp_path / "x.csv"), *DAY, "--out", str(tmp_path / "a.html")
    )
    assert code == 2 and "x.csv: file not found" in output
    code, output = invoke(
        "plot", "--data", str(candles), *DAY, "--out", str(tmp_path / "no" / "a.html")
    )
    assert code == 2 and "cannot write" in output
