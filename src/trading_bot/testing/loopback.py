"""The lifecycle every fake server shares: an aiohttp application served on 127.0.0.1 at a
free port, started and closed by `async with` (or `start()` / `close()`), with routes other
modules may `mount` before it starts (a fake's trading half)."""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar, Self

from aiohttp import web

AddRoutes = Callable[[web.Application], None]


class LoopbackServer:
    """Subclasses build their application in `_application()`."""

    shutdown_timeout_s: ClassVar[float] = 0.5

    def __init__(self) -> None:
        self.port = 0
        self._runner: web.AppRunner | None = None
        self._mounts: list[AddRoutes] = []

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def mount(self, add_routes: AddRoutes) -> None:
        """Have `add_routes(app)` add routes to the application when the server starts."""
        if self._runner is not None:
            raise RuntimeError("mount extensions before the fake starts")
        self._mounts.append(add_routes)

    async def start(self) -> None:
        app = self._application()
        for add_routes in self._mounts:
            add_routes(app)
        self._runner = web.AppRunner(
            app, access_log=None, handle_signals=False, shutdown_timeout=self.shutdown_timeout_s
        )
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()  # any free port
        self.port = self._runner.addresses[0][1]

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def _application(self) -> web.Application:
        raise NotImplementedError
