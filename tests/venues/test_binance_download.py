"""Kline downloads into candle files, and resuming them after an interruption."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pandas as pd
import pytest

from tests.venues.conftest import FAST, SYMBOL, SimSleep
from trading_bot.data.files import DataFileError, load_candles, save_candles
from trading_bot.testing.fake_binance import FakeBinance
from trading_bot.venues.binance import BinanceRest, download_klines
from trading_bot.venues.errors import TemporaryError

FIVE_MINUTES = 300_000
CANDLES = 2500


@pytest.fixture
def source(btc_5m: pd.DataFrame) -> pd.DataFrame:
    return btc_5m.iloc[:CANDLES]


@pytest.fixture
async def fake(source: pd.DataFrame) -> AsyncIterator[FakeBinance]:
    after = ms(source.index[-1]) + FIVE_MINUTES
    async with FakeBinance({SYMBOL: source}, "5m", live_from_ms=after) as fake:
        yield fake


def ms(time: pd.Timestamp) -> int:
    return int(time.value // 1_000_000)


def rest_for(fake: FakeBinance) -> BinanceRest:
    return BinanceRest(fake.settings(**FAST), fake.clock, sleep=SimSleep(fake.clock))


@pytest.mark.parametrize("name", ["btc.csv.gz", "btc.csv", "btc.parquet"])
async def test_a_download_continues_after_the_last_candle_already_in_the_file(
    fake: FakeBinance, source: pd.DataFrame, tmp_path: Path, name: str
) -> None:
    out = tmp_path / name
    start, end = ms(source.index[0]), ms(source.index[-1]) + FIVE_MINUTES
    progress: list[tuple[int, int]] = []
    async with rest_for(fake) as rest:
        first = await download_klines(rest, SYMBOL, "5m", start, start + 1200 * FIVE_MINUTES, out)
        second = await download_klines(
            rest, SYMBOL, "5m", start, end, out, lambda done, total: progress.append((done, total))
        )
    assert (first.written, first.resumed_after) == (1200, None)
    assert second.resumed_after == ms(source.index[1199]) == first.last_open
    assert second.written == CANDLES - 1200
    assert progress == [(1000, 1300), (1300, 1300)]
    pd.testing.assert_frame_equal(load_candles(out), source, check_freq=False)
    klines = [r for r in fake.requests if r.path == "/api/v3/klines"]
    assert int(klines[2].params["startTime"]) == ms(source.index[1200])


@pytest.mark.parametrize("name", ["btc.csv.gz", "btc.parquet"])
async def test_an_interrupted_download_keeps_its_pages_and_resumes(
    fake: FakeBinance, source: pd.DataFrame, tmp_path: Path, name: str
) -> None:
    out = tmp_path / name
    start, end = ms(source.index[0]), ms(source.index[-1]) + FIVE_MINUTES
    fake.fail_rest(503, times=3, path="/api/v3/klines", skip=1)  # the second page fails
    async with rest_for(fake) as rest:
        with pytest.raises(TemporaryError):
            await download_klines(rest, SYMBOL, "5m", start, end, out)
        assert len(load_candles(out)) == 1000
        resumed = await download_klines(rest, SYMBOL, "5m", start, end, out)
    assert resumed.written == CANDLES - 1000
    pd.testing.assert_frame_equal(load_candles(out), source, check_freq=False)


async def test_only_closed_candles_are_written(fake: FakeBinance, tmp_path: Path) -> None:
    fake.clock_skew_ms = -FIVE_MINUTES // 2  # the server is half-way through the last candle
    out = tmp_path / "btc.csv"
    async with rest_for(fake) as rest:
        done = await download_klines(rest, SYMBOL, "5m", 0, 2**62, out)
    assert done.written == CANDLES - 1


async def test_a_file_of_another_timeframe_is_not_continued(
    fake: FakeBinance, source: pd.DataFrame, tmp_path: Path
) -> None:
    out = tmp_path / "btc.csv"
    save_candles(source.iloc[::3].iloc[:10], out)  # 15m candles
    async with rest_for(fake) as rest:
        with pytest.raises(DataFileError, match="holds 15m candles, not 5m"):
            await download_klines(rest, SYMBOL, "5m", 0, 2**62, out)
