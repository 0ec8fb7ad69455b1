"""The paper run: the real command, on the replay venue, through the asyncio path."""

from __future__ import annotations

import json
import signal
from pathlib import Path

from trading_bot.backtest.runner import run_backtest
from trading_bot.config import load_settings
from trading_bot.core.clock import datetime_to_ms
from trading_bot.core.model import OrderRole
from trading_bot.data.synthetic import generate_candles
from trading_bot.data.timeframes import parse_timeframe
from trading_bot.storage import Database, StateStore

from .botprocess import FEED_ENDED, STARTED, BotProcess, write_config


def stored(tmp_path: Path) -> StateStore:
    database = Database(f"sqlite:///{tmp_path}/bot.sqlite")
    return StateStore(database)


async def test_paper_run_on_the_replay_trades_exactly_like_the_backtest(tmp_path: Path) -> None:
    config = write_config(tmp_path / "bot.toml", tmp_path, candles=3000, speed=0)
    bot = await BotProcess.start(config, tmp_path)
    await bot.wait_for(STARTED)
    await bot.wait_for(FEED_ENDED)
    assert await bot.stop() == 0
    assert "SYNTHETIC" in bot.output
    paper = stored(tmp_path).load_trades()

    settings = load_settings(config)
    replay = settings.replay
    frame = generate_candles(
        replay.candles, parse_timeframe(replay.timeframe), replay.seed, datetime_to_ms(replay.start)
    )
    backtest = run_backtest(frame, settings.pipeline, replay.symbol).trades
    assert backtest[-1].exit_reason == "end_of_backtest"
    assert len(paper) > 20
    assert paper == backtest[:-1]
    assert bot.output.count(" TRADE ") == len(paper)
    # The audit trail has every fill; the console leaves the routine order flow to the notifier.
    audit = [
        json.loads(line)
        for line in (tmp_path / "logs" / "audit.jsonl").read_text().split("\n")
        if line
    ]
    filled = [entry for entry in audit if entry["event"] == "order filled"]
    assert len(filled) == len(stored(tmp_path).load_fills()) == bot.output.count(" FILL ")
    assert "order filled" not in bot.output


async def test_restart_continues_positions_equity_and_paused_state(tmp_path: Path) -> None:
    config = write_config(tmp_path / "bot.toml", tmp_path, candles=4000, speed=50)
    first = await BotProcess.start(config, tmp_path)
    await first.wait_for(STARTED)
    await first.wait_for("TRADE")
    await first.wait_for("FILL")  # the entry that follows the first exit: a position is open
    first.send(signal.SIGUSR1)
    await first.wait_for("PAUSED")
    assert await first.stop() == 0
    assert "state saved" in first.output

    store = stored(tmp_path)
    positions = store.load_positions()
    assert len(positions) == 1
    risk_state = store.get_state("risk")
    assert risk_state is not None and risk_state["paused"] is True
    trades_before = store.load_trades()
    fills_before = len(store.load_fills())
    equity_before = store.get_state("portfolio")

    second = await BotProcess.start(config, tmp_path, TRADING_BOT_REPLAY__SPEED="0")
    announce = await second.wait_for(STARTED)
    assert "PAUSED" in announce and "resuming after the last processed candle" in announce
    assert f"positions {positions[0].symbol} {positions[0].qty}" in announce
    await second.wait_for(FEED_ENDED)
    assert await second.stop() == 0

    store = stored(tmp_path)
    trades = store.load_trades()
    assert trades[: len(trades_before)] == trades_before
    new_fills = store.load_fills()[fills_before:]
    # The open position was managed (its exit filled); paused, no new entry was made.
    assert [f.role for f in new_fills] == [OrderRole.EXIT]
    assert trades[len(trades_before)].entry_time == positions[0].opened_time
    assert store.load_positions() == []
    assert "trading is paused" in second.output
    assert equity_before is not None


async def test_an_ict_paper_run_restarts_into_the_same_trades(tmp_path: Path) -> None:
    """ict keeps no state in the database: after a restart it replays history (its warm-up)
    and trades on exactly as if it had never stopped."""
    strategy = 'name = "ict"\nparams = { killzones = [], require_bias = false }'
    config = write_config(
        tmp_path / "bot.toml", tmp_path, candles=3000, speed=100, strategy=strategy
    )
    first = await BotProcess.start(config, tmp_path)
    await first.wait_for(STARTED)
    await first.wait_for(" TRADE ")
    assert await first.stop() == 0
    second = await BotProcess.start(config, tmp_path, TRADING_BOT_REPLAY__SPEED="0")
    assert "resuming" in await second.wait_for(STARTED)
    await second.wait_for(FEED_ENDED)
    assert await second.stop() == 0

    settings = load_settings(config)
    replay = settings.replay
    frame = generate_candles(
        replay.candles, parse_timeframe(replay.timeframe), replay.seed, datetime_to_ms(replay.start)
    )
    expected = [t for t in run_backtest(frame, settings.pipeline, replay.symbol).trades]
    expected = [t for t in expected if t.exit_reason != "end_of_backtest"]
    assert len(expected) >= 3
    assert stored(tmp_path).load_trades() == expected
