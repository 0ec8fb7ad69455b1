"""Task views say how each background task ended; CORS is off unless origins are configured."""

from __future__ import annotations

import asyncio

import httpx
from pydantic import SecretStr

from trading_bot.api.app import create_api
from trading_bot.api.settings import ApiSettings
from trading_bot.api.tasks import task_views

from .conftest import TOKEN, Served


async def test_task_views_tell_running_done_cancelled_and_failed() -> None:
    async def fail() -> None:
        raise ConnectionError("the secret URL would be here")

    gate = asyncio.Event()
    tasks = [
        asyncio.create_task(gate.wait(), name="waits"),
        asyncio.create_task(asyncio.sleep(0), name="done"),
        asyncio.create_task(gate.wait(), name="cancelled"),
        asyncio.create_task(fail(), name="failed"),
    ]
    tasks[2].cancel()
    await asyncio.wait(tasks[1:])
    views = {view.name: (view.state, view.error) for view in task_views(tasks)}
    assert views == {
        "cancelled": ("cancelled", None),
        "done": ("done", None),
        "failed": ("failed", "ConnectionError"),  # the type only: messages may hold secrets
        "waits": ("running", None),
    }
    gate.set()
    await tasks[0]


async def test_cors_is_off_unless_origins_are_configured(finished: Served) -> None:
    control, hub = finished.app.control, finished.app.pipeline.hub
    preflight = {
        "Origin": "http://dash.example",
        "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "authorization",
    }
    for origins, allowed in (((), None), (("http://dash.example",), "http://dash.example")):
        settings = ApiSettings(cors_origins=origins)
        api = create_api(control, hub, settings, SecretStr(TOKEN))
        transport = httpx.ASGITransport(app=api)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            response = await client.options("/api/v1/status", headers=preflight)
        assert response.headers.get("access-control-allow-origin") == allowed
