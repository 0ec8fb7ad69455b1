"""Signals and shutdown options of the running bot."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

from trading_bot.storage import Database, StateStore

from .botprocess import STARTED, BotProcess, write_config


async def test_sighup_reloads_a_good_config_and_keeps_running_on_a_bad_one(
    tmp_path: Path,
) -> None:
    config = write_config(tmp_path / "bot.toml", tmp_path, candles=100_000, speed=20)
    bot = await BotProcess.start(config, tmp_path)
    await bot.wait_for(STARTED)
    write_config(
        config,
        tmp_path,
        candles=100_000,
        speed=20,
        risk="max_open_positions = 2",
        strategy='name = "sma_cross"\nparams = { fast = 5, slow = 20 }',
    )
    bot.send(signal.SIGHUP)
    later = await bot.wait_for("take effect after a restart")
    assert "strategy" in later and "risk" not in later  # risk limits apply at once
    await bot.wait_for("config reloaded")
    config.write_text("[risk]\nmax_open_positions = 0\n")
    bot.send(signal.SIGHUP)
    refused = await bot.wait_for("configuration reload refused")
    assert "risk.max_open_positions = 0" in refused
    assert await bot.stop() == 0


async def test_close_positions_on_shutdown_flattens_at_the_last_close(tmp_path: Path) -> None:
    config = write_config(
        tmp_path / "bot.toml",
        tmp_path,
        candles=100_000,
        speed=50,
        bot="close_positions_on_shutdown = true",
    )
    bot = await BotProcess.start(config, tmp_path)
    await bot.wait_for(STARTED)
    await bot.wait_for("FILL")
    assert await bot.stop() == 0
    store = StateStore(Database(f"sqlite:///{tmp_path}/bot.sqlite"))
    assert store.load_positions() == []
    assert store.load_trades()[-1].exit_reason == "shutdown"
    assert "(shutdown)" in bot.output


async def test_a_closed_console_does_not_stop_the_bot_or_lose_its_state(tmp_path: Path) -> None:
    """`trading-bot run | head` closes the bot's stdout: printing fails, the bot goes on and
    still stops cleanly with its state saved."""
    config = write_config(tmp_path / "bot.toml", tmp_path, candles=100_000, speed=200)
    bot = await BotProcess.start(config, tmp_path)
    await bot.wait_for(STARTED)
    await bot.wait_for(" FILL ")
    transport = bot.proc._transport  # type: ignore[attr-defined]
    transport.get_pipe_transport(1).close()  # the reader goes away, as `head` does
    bot.send(signal.SIGTERM)
    async with asyncio.timeout(5):
        assert await bot.proc.wait() == 0
    store = StateStore(Database(f"sqlite:///{tmp_path}/bot.sqlite"))
    feed = store.get_state("feed")
    assert feed is not None and feed["last_open_time"] is not None
    assert len(store.load_fills()) >= 1
