"""The one aiohttp session an HTTP client keeps: made on first use (inside the running event
loop, as aiohttp wants), closed by `close()` or by leaving `async with`."""

from __future__ import annotations

from typing import Self

import aiohttp


class SessionHolder:
    """Base of the REST clients: subclasses say how their session is made (`_open_session`:
    timeout, default headers)."""

    _session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    @property
    def session(self) -> aiohttp.ClientSession:
        """The HTTP session, made on first use."""
        if self._session is None:
            self._session = self._open_session()
        return self._session

    def _open_session(self) -> aiohttp.ClientSession:
        raise NotImplementedError
