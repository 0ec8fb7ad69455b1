"""The real command under supervision: systemd hears READY and STOPPING, and `trading-bot
health` tells a running, healthy bot from a stopped one."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from tests.test_systemd import NotifySocket

from .botprocess import STARTED, BotProcess, write_config


async def health(config: Path, cwd: Path) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "trading_bot", "health", "--config", str(config),
        cwd=cwd, env={**os.environ, "NO_COLOR": "1"},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    out, _ = await proc.communicate()
    return await proc.wait(), out.decode()


async def test_systemd_and_the_health_command_follow_the_bot(tmp_path: Path) -> None:
    config = write_config(tmp_path / "bot.toml", tmp_path, candles=100_000, speed=20)
    code, said = await health(config, tmp_path)
    assert code == 1 and "not running" in said

    systemd = NotifySocket(tmp_path / "notify.sock")
    try:
        bot = await BotProcess.start(config, tmp_path, NOTIFY_SOCKET=str(systemd.path))
        await bot.wait_for(STARTED)
        await systemd.wait_until(lambda: any("READY=1" in m for _, m in systemd.messages))
        report = tmp_path / "trading_bot.health.json"
        assert oct(report.stat().st_mode & 0o777) == "0o600"
        code, said = await health(config, tmp_path)
        assert code == 0 and said.startswith("healthy: paper, equity"), said
        assert await bot.stop() == 0
        await systemd.wait_until(lambda: any("STOPPING=1" in m for _, m in systemd.messages))
    finally:
        systemd.close()
    code, said = await health(config, tmp_path)
    assert code == 1 and "not running" in said
