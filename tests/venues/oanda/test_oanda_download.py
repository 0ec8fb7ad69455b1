"""OANDA candle downloads into files, resumed after an interruption, weekend gaps kept."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from tests.venues.oanda.conftest import SYMBOL
from trading_bot.data.files import load_candles
from trading_bot.testing.fake_oanda import FakeOanda
from trading_bot.venues.errors import TemporaryError
from trading_bot.venues.oanda import OandaRest, OandaSettings, download_candles

HOUR = 3_600_000


def ms(time: pd.Timestamp) -> int:
    return int(time.value // 1_000_000)


@pytest.mark.parametrize("name", ["eurusd.csv.gz", "eurusd.parquet"])
async def test_a_download_resumes_after_the_last_candle_in_the_file(
    eurusd_1h: pd.DataFrame, tmp_path: Path, name: str
) -> None:
    source = eurusd_1h.iloc[:6000]  # real hours, weekends included
    start, end = ms(source.index[0]), ms(source.index[-1]) + HOUR
    out = tmp_path / name
    progress: list[tuple[int, int]] = []
    async with FakeOanda({SYMBOL: source}, live_from_ms=end) as fake:
        settings = fake.settings(timeframe="1h", rest_retry_s=0.0)
        async with OandaRest(settings) as rest:
            fake.fail_rest(503, times=settings.rest_attempts, path="/candles", skip=1)
            with pytest.raises(TemporaryError):
                await download_candles(rest, SYMBOL, "1h", start, end, out)
            first = load_candles(out)
            resumed = await download_candles(
                rest,
                SYMBOL,
                "1h",
                start,
                end,
                out,
                lambda done, most: progress.append((done, most)),
            )
    assert len(first) == 5000  # the first page was on disk when the second failed
    assert resumed.resumed_after == ms(first.index[-1])
    assert resumed.written == 1000 and resumed.last_open == ms(source.index[-1])
    assert progress[-1][0] == 1000 and progress[-1][1] >= 1000  # weekends make it fewer
    got = load_candles(out)
    expected = source[["open", "high", "low", "close"]].assign(volume=4.0)
    pd.testing.assert_frame_equal(got, expected, check_freq=False)
    pages = [r for r in fake.requests if r.path.endswith("/candles") and r.status == 200]
    assert all(p.params["granularity"] == "H1" for p in pages)


async def test_a_timeframe_oanda_lacks_is_refused_before_the_file_is_touched(
    tmp_path: Path,
) -> None:
    rest = OandaRest(OandaSettings())
    with pytest.raises(ValueError, match="OANDA has no candles of '3m'"):
        await download_candles(rest, SYMBOL, "3m", 0, HOUR, tmp_path / "x.csv")
    assert not (tmp_path / "x.csv").exists()
