"""Two market hours of the soak (`bench/soak.py` runs twenty-four): real candles through the real
`trading-bot run` command, paper and live on the fake Binance, with the stream cut, paused and
refused, REST failing, and Telegram and Discord down by turns; nothing is lost or doubled (see
`soak_checks` for what that means in each mode)."""

from __future__ import annotations

from pathlib import Path
from typing import get_args

import pytest

from .soak import Mode, SoakPlan, run_soak
from .soak_checks import check_soak

EVERY_FAULT = (
    "stream closed",
    "serverShutdown",
    "market silent",
    "reconnections refused",
    "REST 503 (candles)",
    "telegram 502",
    "telegram 429",
    "telegram refused",
    "discord 429",
    "discord refused",
    "discord 503",
)


@pytest.mark.parametrize("mode", get_args(Mode))
async def test_two_hours_of_faults_lose_nothing(
    tmp_path: Path, shared_data: Path, mode: Mode
) -> None:
    # the notifiers go down four times as often as in the bench: two hours see each kind
    plan = SoakPlan(mode, hours=2, speed=25, outage_every=30)
    run = await run_soak(plan, shared_data, tmp_path)
    findings = check_soak(run)
    assert findings.ok, findings.failures()
    assert findings.figures["trades"] >= 5
    # the faults were there, and each outage held back notifications the bot then sent
    assert all(run.faults.get(name, 0) > 0 for name in EVERY_FAULT), run.faults
    observed = run.observed
    assert observed["telegram calls failed"] and observed["telegram sends unreachable"], observed
    assert observed["discord posts failed"] and observed["discord posts unreachable"], observed
