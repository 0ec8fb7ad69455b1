"""The server lives in the bot's loop: a port in use is one clear sentence, a generated token
is announced once, and cancelling `serve` ends open event streams and returns promptly."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from trading_bot.api.server import ApiUnavailable, BotApi
from trading_bot.api.settings import ApiSettings

from .conftest import AUTH, TOKEN, Served


def test_a_port_in_use_is_one_clear_sentence(finished: Served) -> None:
    taken = finished.api.port
    api = BotApi(ApiSettings(port=taken, token=SecretStr(TOKEN)), finished.app.control)
    with pytest.raises(ApiUnavailable, match=rf"cannot listen on 127.0.0.1:{taken} .*api.port"):
        api.bind()


def test_a_generated_token_is_announced_once(finished: Served, tmp_path: Path) -> None:
    settings = ApiSettings(port=0, generated_token_path=tmp_path / "api_token")
    control = finished.app.control
    first = BotApi(settings, control)
    url = first.bind()
    lines = first.announcement()
    assert lines[0] == f"Dashboard on {first.dashboard_url} (API on {url}, metrics on /metrics)"
    token = first.token.value.get_secret_value()
    assert f"{first.dashboard_url}#token={token}" in lines[1]
    second = BotApi(settings, control)
    second.bind()
    assert len(second.announcement()) == 1  # the kept token is not printed again
    assert second.token.value == first.token.value


async def test_cancelling_serve_ends_open_streams_promptly(finished: Served) -> None:
    settings = ApiSettings(port=0, token=SecretStr(TOKEN), shutdown_timeout_s=30)
    api = BotApi(settings, finished.app.control)
    url = api.bind()
    serving = asyncio.create_task(api.serve())
    async with (
        httpx.AsyncClient(headers=AUTH) as client,
        client.stream("GET", f"{url}/events") as response,
    ):
        assert response.status_code == 200
        serving.cancel()
        async with asyncio.timeout(5):  # far less than the 30 s a stuck stream would take
            async for _ in response.aiter_lines():
                pass  # the stream ends, with the connection
            with pytest.raises(asyncio.CancelledError):
                await serving
    with socket.socket() as probe:  # the port is released
        assert probe.connect_ex(("127.0.0.1", api.port)) != 0


async def test_the_bot_keeps_its_signals_while_the_api_serves(finished: Served) -> None:
    assert (await finished.client.get("/api/v1/status")).status_code == 200  # uvicorn is up
    os.kill(os.getpid(), signal.SIGTERM)
    async with asyncio.timeout(10):
        assert await finished.bot_task == 0  # the bot's handler stopped the bot
    # uvicorn's own handler would also have stopped the API (it checks every 0.1 s); the bot
    # stops it instead, when it chooses to
    done, _ = await asyncio.wait({finished.api_task}, timeout=0.5)
    assert not done
    assert (await finished.client.get("/api/v1/status")).status_code == 200
