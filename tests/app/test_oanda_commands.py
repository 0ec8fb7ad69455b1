"""`download-data --venue oanda` and `record-data --venue oanda` against the fake OANDA: the real
commands, in subprocesses, write exactly the venue's candles."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pandas as pd

from trading_bot.data.files import load_candles
from trading_bot.testing.fake_binance import relabel
from trading_bot.testing.fake_oanda import FakeOanda, StreamFaults

FIVE_S = 5_000
START = 1_700_000_000_000
SYMBOL = "EUR/USD"


def fives(shared_data: Path, count: int) -> pd.DataFrame:
    """Real hourly EUR/USD candles relabelled as 5 s ones."""
    real = load_candles(shared_data / "oanda-EURUSD-1h.csv.gz").iloc[:count]
    return relabel(real, FIVE_S, START)


def oanda_env(fake: FakeOanda) -> dict[str, str]:
    return {
        **os.environ,
        "TRADING_BOT_OANDA__REST_URL": fake.url,
        "TRADING_BOT_OANDA__STREAM_URL": fake.url,
        "TRADING_BOT_OANDA__ACCOUNT_ID": fake.account_id,
        "TRADING_BOT_OANDA__TOKEN": fake.token,
        "TRADING_BOT_OANDA__TIMEFRAME": "5s",
        "TRADING_BOT_OANDA__SETTLE_S": "0",
        "TRADING_BOT_OANDA__RECONNECT_MIN_S": "0.01",
        "TRADING_BOT_LOGGING__FILE": "",
        "TRADING_BOT_LOGGING__AUDIT_FILE": "",
    }


async def command(*args: str, env: dict[str, str], cwd: Path) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "trading_bot", *args, cwd=cwd, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    async with asyncio.timeout(90):
        output, _ = await proc.communicate()
    return await proc.wait(), output.decode()


def as_made_by_the_fake(frame: pd.DataFrame) -> pd.DataFrame:
    """The fake makes each candle of four prices: the same OHLC, a tick volume of 4."""
    return frame[["open", "high", "low", "close"]].assign(volume=4.0)


async def test_download_data_from_oanda_writes_the_venues_complete_candles(
    tmp_path: Path, shared_data: Path
) -> None:
    source = fives(shared_data, 6000)
    out = tmp_path / "eurusd.csv.gz"
    end = source.index[-1]  # history only: every candle before the last is complete
    async with FakeOanda({SYMBOL: source}, live_from_ms=int(end.value // 1_000_000)) as fake:
        code, output = await command(
            "download-data", "--venue", "oanda", "--symbol", SYMBOL, "--timeframe", "5s",
            "--start", source.index[0].isoformat(), "--end", end.isoformat(), "--out", str(out),
            env=oanda_env(fake), cwd=tmp_path,
        )  # fmt: skip
    assert code == 0, output
    written = load_candles(out)
    expected = as_made_by_the_fake(source.iloc[:-1])
    pd.testing.assert_frame_equal(written, expected[written.columns], check_freq=False)
    assert "5,999 candles written" in output


async def test_record_data_from_oanda_with_the_stream_cut_again_and_again(
    tmp_path: Path, shared_data: Path
) -> None:
    source = fives(shared_data, 300)
    out = tmp_path / "recorded.csv"
    faults = StreamFaults(cut_after=30, malformed_every=41)
    async with FakeOanda({SYMBOL: source}, pace_s=0.001, heartbeat_s=0.02, faults=faults) as fake:
        env = {**oanda_env(fake), "TRADING_BOT_BOT__VENUE": "oanda"}
        code, output = await command(
            "record-data", "--venue", "oanda", "--out", str(out),
            "--until", source.index[-2].isoformat(), env=env, cwd=tmp_path,
        )  # fmt: skip
    assert code == 0, output
    assert fake.connections > 5 and fake.sent_faults["cut"] > 5
    recorded = load_candles(out)
    expected = as_made_by_the_fake(source)
    pd.testing.assert_frame_equal(
        recorded, expected.loc[recorded.index, recorded.columns], check_freq=False
    )
    # from the first candle to (at least) the one asked for, none missing
    assert recorded.index[0] == source.index[0] and recorded.index[-1] >= source.index[-2]
    assert len(recorded) == len(source.loc[: recorded.index[-1]])
