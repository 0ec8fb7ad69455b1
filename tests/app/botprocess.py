"""Run the real `trading-bot run` command in a subprocess and follow what it prints."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from pathlib import Path
from typing import ClassVar

STARTED = "Running."
FEED_ENDED = "has delivered its last candle"


class BotProcess:
    started: ClassVar[list[BotProcess]] = []
    """Every bot started, so that one a failing test leaves running can be killed after it."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.lines: list[str] = []
        BotProcess.started.append(self)

    @classmethod
    def kill_leftovers(cls) -> None:
        """SIGKILL every bot still running (a test failed before stopping it)."""
        for bot in cls.started:
            if bot.proc.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(bot.proc.pid, signal.SIGKILL)
        cls.started.clear()

    @classmethod
    async def start(cls, config: Path, cwd: Path, **env_overrides: str) -> BotProcess:
        env = {**os.environ, "COLUMNS": "250", "NO_COLOR": "1", **env_overrides}
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "trading_bot",
            "run",
            "--config",
            str(config),
            cwd=cwd,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        return cls(proc)

    async def wait_for(self, text: str, timeout: float = 60) -> str:
        """Read output lines until one contains `text`; returns it."""
        assert self.proc.stdout is not None
        async with asyncio.timeout(timeout):
            while True:
                raw = await self.proc.stdout.readline()
                if not raw:
                    raise AssertionError(f"bot exited before printing {text!r}:\n" + self.output)
                line = raw.decode()
                self.lines.append(line)
                if text in line:
                    return line

    def send(self, sig: signal.Signals) -> None:
        self.proc.send_signal(sig)

    async def stop(self, timeout: float = 5) -> int:
        """SIGTERM, then the exit code; the bot must be gone within `timeout` seconds."""
        self.send(signal.SIGTERM)
        assert self.proc.stdout is not None
        async with asyncio.timeout(timeout):
            rest = await self.proc.stdout.read()
            code = await self.proc.wait()
        self.lines.extend(rest.decode().splitlines(keepends=True))
        return code

    @property
    def output(self) -> str:
        return "".join(self.lines)


def write_config(
    path: Path,
    tmp: Path,
    candles: int,
    speed: float,
    seed: int = 3,
    bot: str = "",
    risk: str = "",
    strategy: str = 'name = "sma_cross"\nparams = { fast = 10, slow = 20 }',
) -> Path:
    path.write_text(
        f"""
[bot]
mode = "paper"
{bot}

[risk]
{risk}

[replay]
data = "synthetic"
candles = {candles}
speed = {speed}
seed = {seed}
timeframe = "1m"

[strategy]
{strategy}
{files_in(tmp)}"""
    )
    return path


def files_in(tmp: Path) -> str:
    """The sections that keep a test bot's files in `tmp`, and its API off port 8080."""
    return f"""
[storage]
database_url = "sqlite:///{tmp}/bot.sqlite"
flush_interval_s = 0.2

[logging]
file = "{tmp}/logs/bot.jsonl"
audit_file = "{tmp}/logs/audit.jsonl"

[api]
port = 0  # any free port: tests never clash with a bot on 8080
generated_token_path = "{tmp}/api_token"
"""
