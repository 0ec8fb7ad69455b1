"""Signals and shutdown options of the running bot."""

from __future__ import annotations

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
    write_config(config, tmp_path, candles=100_000, speed=20, risk="max_open_positions = 2")
    bot.send(signal.SIGHUP)
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
