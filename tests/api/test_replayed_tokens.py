"""Replayed API credentials: the token works only as `Authorization: Bearer <token>`, and a token
from before a rotation (a new token file or setting, then a restart) no longer works at all."""

from __future__ import annotations

import base64
import re
from pathlib import Path

import httpx

from trading_bot.api.settings import ApiSettings
from trading_bot.api.token import resolve_token

from ..app.botprocess import STARTED, BotProcess, write_config
from .conftest import TOKEN, Served

STATUS = "/api/v1/status"


async def test_the_token_anywhere_but_a_bearer_header_is_refused(finished: Served) -> None:
    basic = base64.b64encode(TOKEN.encode()).decode()
    async with httpx.AsyncClient(base_url=str(finished.client.base_url)) as anonymous:
        for name in ("token", "access_token", "api_key", "bearer", "authorization"):
            response = await anonymous.get(STATUS, params={name: TOKEN})
            assert response.status_code == 401, name
        for header in (f"Basic {basic}", f"Token {TOKEN}", f"Digest {TOKEN}", TOKEN):
            response = await anonymous.get(STATUS, headers={"Authorization": header})
            assert response.status_code == 401, header
        for header, value in (("X-Api-Key", TOKEN), ("Cookie", f"token={TOKEN}")):
            assert (await anonymous.get(STATUS, headers={header: value})).status_code == 401
        assert (await anonymous.get(STATUS, headers=finished.client.headers)).status_code == 200


class Started:
    """A `trading-bot run` process and its API's address."""

    def __init__(self, bot: BotProcess, url: str) -> None:
        self.bot, self.url = bot, url

    @classmethod
    async def start(cls, config: Path, tmp_path: Path, **env: str) -> Started:
        bot = await BotProcess.start(config, tmp_path, **env)
        line = await bot.wait_for("Dashboard on ")
        match = re.search(r"Dashboard on (http://\S+/)", line)
        assert match is not None, line
        await bot.wait_for(STARTED)
        return cls(bot, match.group(1))

    async def status(self, token: str) -> int:
        async with httpx.AsyncClient(base_url=self.url) as client:
            response = await client.get(STATUS, headers={"Authorization": f"Bearer {token}"})
            return response.status_code


async def test_a_rotated_token_file_refuses_the_old_token_after_a_restart(tmp_path: Path) -> None:
    config = write_config(tmp_path / "bot.toml", tmp_path, candles=100_000, speed=20)
    token_file = tmp_path / "api-token.secret"
    token_file.write_text("token-before-the-rotation-01\n")
    env = {"TRADING_BOT_API__TOKEN_FILE": str(token_file)}
    run = await Started.start(config, tmp_path, **env)
    assert await run.status("token-before-the-rotation-01") == 200
    assert await run.bot.stop() == 0

    token_file.write_text("token-after-the-rotation-002\n")
    run = await Started.start(config, tmp_path, **env)
    assert await run.status("token-before-the-rotation-01") == 401
    assert await run.status("token-after-the-rotation-002") == 200
    assert await run.bot.stop() == 0
    assert "-the-rotation-" not in run.bot.output  # a configured token is never printed


def test_deleting_the_generated_token_file_makes_a_new_token(tmp_path: Path) -> None:
    """The documented way to rotate a generated token; the old one then matches nothing."""
    settings = ApiSettings(generated_token_path=tmp_path / "api_token")
    old = resolve_token(settings).value
    settings.generated_token_path.unlink()
    new = resolve_token(settings)
    assert new.generated is not None and new.value != old
