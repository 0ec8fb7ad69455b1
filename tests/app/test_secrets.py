"""Secrets never leave: a full paper session run with known secret values (venue keys, the
Telegram token, the Discord webhook) and some trouble, and every output is scanned for them."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import orjson

from trading_bot.testing.fake_discord import FakeDiscord
from trading_bot.testing.fake_telegram import FakeTelegram

from .botprocess import STARTED, BotProcess, write_config
from .test_telegram import OWNER, Chat, telegram_env

VENUE_SECRETS = {
    "TRADING_BOT_BINANCE__API_KEY": "bnkey-S3CRET-1234567890abcdef",
    "TRADING_BOT_BINANCE__API_SECRET": "bnsecret-S3CRET-abcdef1234567890",
    "TRADING_BOT_OANDA__TOKEN": "oanda-S3CRET-token-0987654321",
}


def leaks(text: str, secrets: list[str]) -> list[str]:
    return [secret for secret in secrets if secret in text]


async def test_a_paper_session_never_shows_a_secret_anywhere(tmp_path: Path) -> None:
    config = write_config(tmp_path / "bot.toml", tmp_path, candles=100_000, speed=40)
    async with FakeTelegram() as telegram, FakeDiscord() as discord:
        webhook = discord.webhook_url
        secrets = [*VENUE_SECRETS.values(), telegram.token, webhook, webhook.rsplit("/", 1)[1]]
        env = {
            **telegram_env(telegram),
            **VENUE_SECRETS,
            "TRADING_BOT_DISCORD__ENABLED": "true",
            "TRADING_BOT_DISCORD__WEBHOOK_URL": webhook,
            "TRADING_BOT_LOGGING__LEVEL": "DEBUG",  # the most there is to leak
        }
        telegram.fail("sendMessage", 2, 429, retry_after=1)  # trouble gets logged
        discord.fail(2, 502)
        bot = await BotProcess.start(config, tmp_path, **env)
        await bot.wait_for(STARTED)
        owner = Chat(telegram, OWNER)
        for command in ("/status", "/health", "/logs 200"):
            owner.command(command)
            await owner.said("" if command != "/status" else "equity")
        await owner.said("Entry filled")
        assert await bot.stop() == 0
        sent = [m.text for m in telegram.sent(OWNER)]
        posted = [orjson.dumps(p).decode() for p in discord.posts]
    assert discord.posts, "the Discord notifications got through after the failures"
    assert leaks(bot.output, secrets) == []
    assert leaks("\n".join(sent), secrets) == [] and leaks("\n".join(posted), secrets) == []
    files = [p for p in tmp_path.rglob("*") if p.is_file() and p.name != "bot.toml"]
    assert any(p.suffix == ".jsonl" for p in files) and any(p.suffix == ".sqlite" for p in files)
    for path in files:
        assert leaks(path.read_bytes().decode(errors="replace"), secrets) == [], path
    for path in files:  # and nobody else may read what the bot wrote
        assert path.stat().st_mode & 0o077 == 0, f"{path} is readable by others"


async def test_a_bad_secret_in_the_configuration_is_named_but_never_shown(tmp_path: Path) -> None:
    env = {**os.environ, "TRADING_BOT_TELEGRAM__BOT_TOKEN": "not-a-token-S3CRET"}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "trading_bot", "run", env=env, cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    output = (await proc.communicate())[0].decode()
    assert proc.returncode == 2
    assert "telegram.bot_token" in output and "S3CRET" not in output
    assert "Traceback" not in output
