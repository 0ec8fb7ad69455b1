"""The deployment files: a systemd unit that supervises and confines the bot, and the container
image and compose example (no Docker engine runs in the tests: what they configure is checked
against the bot's own settings, so a renamed setting breaks the test, not a user's container)."""

from __future__ import annotations

import asyncio
import configparser
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from trading_bot.config import load_settings

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"


def unit() -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(DEPLOY / "trading-bot.service")
    return parser


def test_the_unit_supervises_and_confines_the_bot() -> None:
    service = unit()["Service"]
    assert service["Type"] == "notify" and int(service["WatchdogSec"]) > 0
    assert service["Restart"] == "on-failure"
    assert service["User"] == "trading-bot"
    assert service["NoNewPrivileges"] == "yes" and service["ProtectSystem"] == "strict"
    assert service["ReadWritePaths"] == "/var/lib/trading-bot"
    assert service["UMask"] == "0077"
    assert service["ExecStart"].endswith("trading-bot run --config /etc/trading-bot/config.toml")


def test_systemd_accepts_the_unit(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    assert analyze is not None, "systemd-analyze (Debian's systemd package) checks the unit"
    text = (DEPLOY / "trading-bot.service").read_text()
    copy = tmp_path / "trading-bot.service"  # its program must exist for verify
    copy.write_text(text.replace("/opt/trading-bot/.venv/bin/trading-bot", "/bin/true"))
    result = subprocess.run(
        [analyze, "verify", str(copy)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr


def dockerfile() -> list[tuple[str, str]]:
    """The Dockerfile's instructions, continuation lines joined: (INSTRUCTION, arguments)."""
    text = re.sub(r"\\\n", " ", (ROOT / "Dockerfile").read_text())
    lines = (line.strip() for line in text.splitlines())
    return [
        (word.upper(), rest.strip())
        for word, _, rest in (line.partition(" ") for line in lines if line and line[0] != "#")
    ]


def image_environment() -> dict[str, str]:
    pairs = [shlex.split(args) for kind, args in dockerfile() if kind == "ENV"]
    return dict(pair.split("=", 1) for group in pairs for pair in group)


def image_command() -> list[str]:
    (command,) = [json.loads(args) for kind, args in dockerfile() if kind == "CMD"]
    return list(command)


def test_the_image_runs_the_bot_as_a_user_with_all_its_state_in_the_volume() -> None:
    instructions = dockerfile()
    (user,) = [args for kind, args in instructions if kind == "USER"]
    assert user not in ("root", "0")
    assert image_command() == ["trading-bot", "run"]  # what make run runs
    assert ("VOLUME", '["/data"]') in instructions
    settings = load_settings(None, image_environment())
    assert settings.storage.database_url.startswith("sqlite:////data/")
    for path in (settings.logging.file, settings.logging.audit_file, settings.bot.health_file):
        assert path is not None and path.is_relative_to("/data")


def test_the_compose_example_runs_the_bot_on_its_postgresql() -> None:
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    bot, db = compose["services"]["bot"], compose["services"]["db"]
    assert bot["depends_on"] == {"db": {"condition": "service_healthy"}}
    password = "not-a-real-password"
    given = {
        k: str(v).replace("${POSTGRES_PASSWORD}", password) for k, v in bot["environment"].items()
    }
    settings = load_settings(None, image_environment() | given)
    url = settings.storage.database_url
    user, name = db["environment"]["POSTGRES_USER"], db["environment"]["POSTGRES_DB"]
    assert url == f"postgresql+psycopg://{user}:{password}@db/{name}"
    assert settings.bot.venue == "binance"


async def test_the_image_command_as_pid_1_stops_gracefully_on_docker_stop(tmp_path: Path) -> None:
    """`docker stop` sends SIGTERM to PID 1 only: the image's command, run as PID 1 of its own
    PID namespace (as in a container), must take it, save its state and exit 0."""
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        pytest.skip("a PID namespace needs root and util-linux's unshare")
    program, *args = image_command()
    env = {
        **os.environ,
        **{k: v.replace("/data", str(tmp_path)) for k, v in image_environment().items()},
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
        "TRADING_BOT_API__PORT": "0",
        "TRADING_BOT_API__GENERATED_TOKEN_PATH": str(tmp_path / "api_token"),
    }
    # --kill-child: whatever ends this test, the bot does not outlive unshare
    unshare = ["unshare", "--pid", "--fork", "--mount-proc", "--kill-child"]
    proc = await asyncio.create_subprocess_exec(
        *unshare, program, *args, env=env, cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    assert proc.stdout is not None
    try:
        async with asyncio.timeout(60):
            while b"Running." not in (line := await proc.stdout.readline()):
                assert line, "the bot ended before it ran"
        children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()
        (pid_1,) = map(int, children)
        status = Path(f"/proc/{pid_1}/status").read_text().splitlines()
        (namespaced,) = [line.split()[1:] for line in status if line.startswith("NSpid:")]
        assert namespaced[-1] == "1"  # PID 1 inside its namespace
        os.kill(pid_1, signal.SIGTERM)
        async with asyncio.timeout(30):
            rest = (await proc.stdout.read()).decode()
            assert await proc.wait() == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert "state saved" in rest
    assert (tmp_path / "trading_bot.sqlite").exists()
