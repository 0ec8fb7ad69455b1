"""Schemathesis exercises every operation of the served OpenAPI spec over real HTTP, with the
token, under schemathesis's default checks: no server error, and responses that match their
documented schemas, status codes and content types (auth itself is tested in test_auth).

Schemathesis calls synchronously, so it runs in a worker thread while the bot's loop serves.
The event stream never ends, so it is left to its own tests."""

from __future__ import annotations

import asyncio
from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.generation.case import Case

from .conftest import AUTH, Served

SKIPPED = {("GET", "/api/v1/events")}
EXAMPLES = 8


def exercise(spec: dict[str, Any], base_url: str) -> list[str]:
    """Each operation's examples; returns the operations exercised."""
    schema = schemathesis.openapi.from_dict(spec)
    done = []
    for result in schema.get_all_operations():
        operation = result.ok()
        if (operation.method.upper(), operation.path) in SKIPPED:
            continue

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def check(case: Case) -> None:
            case.call_and_validate(base_url=base_url, headers=AUTH, timeout=10)

        check()
        done.append(f"{operation.method.upper()} {operation.path}")
    return done


async def test_every_operation_conforms_to_the_spec(finished: Served) -> None:
    base_url = str(finished.client.base_url).rstrip("/")
    spec = (await finished.client.get("/openapi.json")).json()
    done = await asyncio.to_thread(exercise, spec, base_url)
    assert len(done) == 16 and "POST /api/v1/close/{target}" in done and "GET /metrics" in done
    assert "GET /api/v1/candles" in done
