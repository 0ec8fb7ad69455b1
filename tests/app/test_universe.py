"""The dynamic universe, through the app against the fake Binance: the top symbol by 24 h quote
volume is traded beside the configured one, a later ranking changes it without a restart, no
candle of a kept symbol is lost across the re-subscription, and a restart trades the last pick
again from where it stopped."""

from __future__ import annotations

import asyncio
import io
from collections import defaultdict
from pathlib import Path

import pandas as pd
from rich.console import Console

from trading_bot.app import TradingApp
from trading_bot.config import Settings, load_settings
from trading_bot.core.events import CandleDataProcessed, OrderFilled
from trading_bot.core.hub import Priority
from trading_bot.data.files import load_candles
from trading_bot.logs import configure_logging
from trading_bot.storage import Database, StateStore
from trading_bot.testing.fake_binance import FakeBinance, relabel
from trading_bot.testing.fake_binance_tickers import FakeBinanceTickers

from .botprocess import write_config

MINUTE = 60_000
START = 1_700_000_040_000  # a whole minute
CANDLES = 240
SWITCH = CANDLES // 2  # ETH trades heavily before this candle, SOL after it


def _with_volume(frame: pd.DataFrame, early: float, late: float) -> pd.DataFrame:
    frame = frame.copy()
    frame["volume"] = [early if i < SWITCH else late for i in range(len(frame))]
    return frame


def markets(shared_data: Path) -> dict[str, pd.DataFrame]:
    """BTC (the configured symbol) barely trades; ETH's volume comes early and SOL's (the same
    prices) late, three times as heavy: SOL's 24 h quote volume passes ETH's 40 candles after
    the switch."""
    btc = relabel(
        load_candles(shared_data / "binance-BTCUSDT-5m.csv.gz").iloc[:CANDLES], MINUTE, START
    )
    eth = relabel(
        load_candles(shared_data / "binance-ETHUSDT-5m.csv.gz").iloc[:CANDLES], MINUTE, START
    )
    return {
        "BTC/USDT": _with_volume(btc, 0.001, 0.001),
        "ETH/USDT": _with_volume(eth, 100.0, 0.0),
        "SOL/USDT": _with_volume(eth, 0.0, 300.0),
    }


def settings_for(tmp_path: Path, fake: FakeBinance) -> tuple[Path, Settings]:
    config = write_config(
        tmp_path / "bot.toml",
        tmp_path,
        candles=10,
        speed=0,
        strategy='name = "sma_cross"\nparams = { fast = 3, slow = 8 }',
    )
    env = {
        "TRADING_BOT_BOT__VENUE": "binance",
        "TRADING_BOT_BINANCE__REST_URL": fake.rest_url,
        "TRADING_BOT_BINANCE__WS_URL": fake.ws_url,
        "TRADING_BOT_BINANCE__SYMBOL": "BTC/USDT",
        "TRADING_BOT_BINANCE__TIMEFRAME": "1m",
        "TRADING_BOT_BINANCE__SETTLE_S": "0",
        "TRADING_BOT_RISK__MAX_SIGNAL_AGE_S": "0",  # the fake's candles are from 2023
        "TRADING_BOT_API__ENABLED": "false",
        "TRADING_BOT_SERVICES__UNIVERSE__ENABLED": "true",
        "TRADING_BOT_SERVICES__UNIVERSE__TOP_N": "1",
        "TRADING_BOT_SERVICES__UNIVERSE__MAX_SPREAD_PCT": "0.5",
    }
    return config, load_settings(config, env)


async def test_the_universe_changes_the_traded_symbols_without_a_restart_or_a_lost_candle(
    tmp_path: Path, shared_data: Path
) -> None:
    frames = markets(shared_data)
    fake = FakeBinance(frames, "1m", pace_s=0.0015)
    FakeBinanceTickers(fake, frames)
    async with fake:
        config, settings = settings_for(tmp_path, fake)
        configure_logging(settings.logging)  # as the command does: problems are in the file
        app = await TradingApp.create(settings, config, Console(file=io.StringIO()))
        seen: dict[str, list[int]] = defaultdict(list)
        fills: list[str] = []
        progressed, finished = asyncio.Event(), asyncio.Event()
        last = START + (CANDLES - 1) * MINUTE

        def on_candle(event: CandleDataProcessed) -> None:
            seen[event.candle.symbol].append(event.candle.open_time)
            if len(seen["BTC/USDT"]) >= SWITCH + 60:
                progressed.set()
            if seen.get("BTC/USDT", [])[-1:] == seen.get("SOL/USDT", [])[-1:] == [last]:
                finished.set()

        hub = app.pipeline.hub
        hub.subscribe(CandleDataProcessed, on_candle, Priority.NOTIFY)
        hub.subscribe(OrderFilled, lambda e: fills.append(e.fill.symbol), Priority.NOTIFY)
        bot = asyncio.create_task(app.run())
        try:
            async with asyncio.timeout(60):
                await progressed.wait()
            # the first ranking, at start, picked ETH beside the configured BTC
            assert "ETH/USDT" in seen and "SOL/USDT" not in seen
            universe = app.addons.services.universe
            assert universe is not None
            await universe.refresh()  # the scheduled run, now: SOL has passed ETH
            assert [p.symbol for p in universe.picks] == ["SOL/USDT"]
            assert app.traded.symbols[:1] == ["BTC/USDT"] and "SOL/USDT" in app.traded.symbols
            eth_open = app.pipeline.portfolio.position("ETH/USDT")
            if eth_open is not None and eth_open.is_open:  # kept and managed, no new entries
                assert "ETH/USDT" in app.traded.symbols
                reason = app.pipeline.risk.entry_gate.entry_block("ETH/USDT", 0)  # type: ignore[union-attr]
                assert reason is not None and "left the traded universe" in reason
            else:
                assert "ETH/USDT" not in app.traded.symbols
            async with asyncio.timeout(60):
                await finished.wait()
        finally:
            app.request_stop()
            assert await bot == 0
            await app.market.close()

        for symbol, times in seen.items():  # each symbol's candles follow on, none lost
            assert times == list(range(times[0], times[-1] + 1, MINUTE)), symbol
        assert len(seen["SOL/USDT"]) >= 40
        assert "SOL/USDT" in fills  # the new symbol trades

        store = StateStore(Database(settings.storage.database_url))
        state = store.get_state("universe")
        assert state is not None and state["picked"] == ["SOL/USDT"]
        assert state["symbols"]["SOL/USDT"]["last_open_time"] == seen["SOL/USDT"][-1]

        # a restart trades the last pick again, from its last processed candle on
        restarted = await TradingApp.create(settings, config, Console(file=io.StringIO()))
        try:
            restarted.database.migrate()
            restarted._restore()
            await restarted.traded.restore(state, universe=True)
            assert "SOL/USDT" in restarted.traded.symbols
            processor = restarted.pipeline.processor
            assert processor.last_closed_time("SOL/USDT", MINUTE) == seen["SOL/USDT"][-1]
        finally:
            restarted.database.close()
            await restarted.market.close()
