"""`trading-bot record-data` against a misbehaving fake Binance writes exactly the source."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pandas as pd

from trading_bot.data.files import load_candles
from trading_bot.testing.fake_binance import FakeBinance, StreamFaults, relabel

SECOND = 1_000
START = 1_700_000_000_000


async def test_record_data_survives_drops_duplicates_reordering_and_garbage(
    tmp_path: Path, shared_data: Path
) -> None:
    source = relabel(
        load_candles(shared_data / "binance-BTCUSDT-5m.csv.gz").iloc[:600], SECOND, START
    )
    faults = StreamFaults(drop_after=50, duplicate_every=7, reorder_every=11, malformed_every=13)
    out = tmp_path / "recorded.csv"
    last = source.index[-1].isoformat()
    async with FakeBinance({"BTC/USDT": source}, "1s", pace_s=0.0005, faults=faults) as fake:
        env = {
            **os.environ,
            "TRADING_BOT_BOT__VENUE": "binance",
            "TRADING_BOT_BINANCE__REST_URL": fake.rest_url,
            "TRADING_BOT_BINANCE__WS_URL": fake.ws_url,
            "TRADING_BOT_BINANCE__TIMEFRAME": "1s",
            "TRADING_BOT_BINANCE__SETTLE_S": "0",
            "TRADING_BOT_BINANCE__RECONNECT_MIN_S": "0.01",
            "TRADING_BOT_BINANCE__CONNECTS_PER_5M": "300",
            "TRADING_BOT_LOGGING__FILE": "",
            "TRADING_BOT_LOGGING__AUDIT_FILE": "",
        }
        recorder = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "trading_bot", "record-data", "--out", str(out),
            "--until", last, cwd=tmp_path, env=env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
        async with asyncio.timeout(90):
            output, _ = await recorder.communicate()
    assert recorder.returncode == 0, output.decode()
    assert fake.sent_faults["dropped"] > 5 and fake.sent_faults["malformed"] > 5
    assert fake.sent_faults["duplicated"] > 5 and fake.sent_faults["reordered"] > 5
    recorded = load_candles(out)
    pd.testing.assert_frame_equal(recorded, source[recorded.columns], check_freq=False)
