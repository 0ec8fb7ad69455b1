"""Serves the API with uvicorn inside the bot's own event loop (`Server.serve()` as a task,
never `uvicorn.run`, which would own the loop), and stops it cleanly.

The listening socket is bound before serving, so a port in use is one clear sentence at start,
port 0 gives a free port that is known at once, and clients may connect as soon as `bind`
returns (the kernel queues them until uvicorn accepts).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Iterator

import uvicorn
from fastapi import FastAPI

from trading_bot.api.app import create_api
from trading_bot.api.settings import ApiSettings
from trading_bot.api.stream import EventStream
from trading_bot.api.tasks import TaskProvider, named_tasks
from trading_bot.api.token import ApiToken, resolve_token
from trading_bot.control import BotControl

API_PATH = "/api/v1"


class ApiUnavailable(Exception):
    """The API cannot listen where it was asked to; the message says what to change."""


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield  # the bot owns SIGINT and SIGTERM and stops the API itself


class BotApi:
    """The HTTP API of one running bot: `bind()` at start, then run `serve()` as a task;
    cancelling that task stops it gracefully (event streams ended, connections closed)."""

    def __init__(
        self, settings: ApiSettings, control: BotControl, tasks: TaskProvider = named_tasks
    ) -> None:
        self.settings = settings
        self.token: ApiToken = resolve_token(settings)
        self.app: FastAPI = create_api(
            control, control.bot.pipeline.hub, settings, self.token.value, tasks
        )
        self._socket: socket.socket | None = None
        self.port = 0  # once bound: the port listened on (the free one chosen, for port 0)

    @property
    def stream(self) -> EventStream:
        stream: EventStream = self.app.state.stream
        return stream

    def bind(self) -> str:
        """Listen on the configured address; returns the API's base URL."""
        host, port = self.settings.host, self.settings.port
        try:
            self._socket = socket.create_server((host, port))
            self.port = self._socket.getsockname()[1]
        except OSError as exc:
            raise ApiUnavailable(
                f"the HTTP API cannot listen on {host}:{port} ({exc.strerror or exc}); set "
                "api.port to a free port (or api.enabled = false)"
            ) from None
        return self.url

    @property
    def url(self) -> str:
        return f"{self.dashboard_url.rstrip('/')}{API_PATH}"

    @property
    def dashboard_url(self) -> str:
        host = self.settings.host
        shown = f"[{host}]" if ":" in host else host
        return f"http://{shown}:{self.port}/"

    def announcement(self) -> list[str]:
        """What to print at start: where the dashboard and the API are, and a newly generated
        token, once (with the address that signs the dashboard in with it)."""
        lines = [f"Dashboard on {self.dashboard_url} (API on {self.url}, metrics on /metrics)"]
        if self.token.generated is not None:
            token = self.token.value.get_secret_value()
            lines.append(
                f"Generated an API token, kept in {self.token.generated} (readable by you only): "
                f"{token}; open {self.dashboard_url}#token={token} once to sign the dashboard in"
            )
        return lines

    async def serve(self) -> None:
        assert self._socket is not None, "bind() first"
        config = uvicorn.Config(
            self.app,
            log_config=None,
            access_log=False,
            lifespan="off",
            http="h11",
            ws="none",
            server_header=False,
            timeout_graceful_shutdown=self.settings.shutdown_timeout_s,
        )
        server = _Server(config)
        task = asyncio.create_task(server.serve(sockets=[self._socket]), name="api-uvicorn")
        try:
            await asyncio.shield(task)
        except asyncio.CancelledError:
            self.stream.close()  # open streams would hold the shutdown until its timeout
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.settings.shutdown_timeout_s):
                    await self.stream.wait_empty()
            server.should_exit = True
            await task
            raise
        finally:
            self._socket.close()
