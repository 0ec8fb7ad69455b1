"""The deployment files: a systemd unit that supervises and confines the bot."""

from __future__ import annotations

import configparser
import shutil
import subprocess
from pathlib import Path

DEPLOY = Path(__file__).resolve().parents[1] / "deploy"


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
