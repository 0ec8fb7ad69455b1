"""Paper trading on Binance candles: the real command against the fake Binance on loopback."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from trading_bot.backtest.runner import run_backtest
from trading_bot.config import load_settings
from trading_bot.core.clock import ms_to_iso
from trading_bot.core.model import Trade
from trading_bot.data.files import load_candles
from trading_bot.storage import Database, StateStore
from trading_bot.testing.fake_binance import FakeBinance, relabel

from .botprocess import STARTED, BotProcess, write_config

MINUTE = 60_000
START = 1_700_000_040_000  # a whole minute


def shape(trades: list[Trade]) -> list[tuple[str, str, str, float, float]]:
    """What the venue's rules cannot change: sides, times and prices."""
    return [
        (t.side.value, ms_to_iso(t.entry_time), ms_to_iso(t.exit_time), float(t.entry_price),
         float(t.exit_price))
        for t in trades
    ]  # fmt: skip


@pytest.mark.parametrize("sync_mode", [False, True], ids=["streaming", "sync-mode"])
async def test_paper_trading_on_binance_candles_trades_like_the_backtest(
    tmp_path: Path, shared_data: Path, sync_mode: bool
) -> None:
    """Streaming, or in sync mode (REST polled at each close, no WebSocket at all)."""
    real = load_candles(shared_data / "binance-BTCUSDT-5m.csv.gz").iloc[:500]
    # real prices, as one-minute klines; polling wakes at each close, so one-second ones there
    interval, timeframe, pace = ("1s", 1_000, 0.005) if sync_mode else ("1m", MINUTE, 0.001)
    frame = relabel(real, timeframe, START)
    config = write_config(tmp_path / "bot.toml", tmp_path, candles=10, speed=0)
    async with FakeBinance({"BTC/USDT": frame}, interval, pace_s=pace) as fake:
        bot = await BotProcess.start(
            config,
            tmp_path,
            TRADING_BOT_BOT__VENUE="binance",
            TRADING_BOT_BINANCE__REST_URL=fake.rest_url,
            TRADING_BOT_BINANCE__WS_URL=fake.ws_url,
            TRADING_BOT_BINANCE__SYMBOL="BTC/USDT",
            TRADING_BOT_BINANCE__TIMEFRAME=interval,
            TRADING_BOT_BINANCE__SETTLE_S="0",
            TRADING_BOT_RISK__MAX_SIGNAL_AGE_S="0",  # the fake's candles are from 2023
            TRADING_BOT_SYNC_MODE=str(sync_mode).lower(),
        )
        await bot.wait_for(STARTED)
        assert "Binance spot public market data" in bot.output
        if sync_mode:
            fake.start_market()  # nobody will connect to start it
        async with asyncio.timeout(60):
            await fake.finished.wait()
        assert await bot.stop() == 0
        assert (fake.connections == 0) is sync_mode

    store = StateStore(Database(f"sqlite:///{tmp_path}/bot.sqlite"))
    feed = store.get_state("feed")
    assert feed is not None and feed["symbol"] == "BTC/USDT"
    processed = frame[frame.index.asi8 // 1_000_000 <= feed["last_open_time"]]
    assert len(processed) > 400  # the bot kept up with the stream
    pipeline = load_settings(config).pipeline
    spot = pipeline.instrument.model_copy(update={"spot": True})  # as Binance's markets are
    as_on_binance = pipeline.model_copy(update={"instrument": spot})
    expected = run_backtest(processed, as_on_binance, "BTC/USDT").trades
    paper = store.load_trades()
    assert len(paper) > 10
    assert shape(paper) == shape([t for t in expected if t.exit_reason != "end_of_backtest"])
