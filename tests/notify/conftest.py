"""Fixtures of the messaging tests: the fakes, a real python-telegram-bot Bot pointed at the fake
Telegram, fast settings, and events a trading day produces."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable
from decimal import Decimal
from typing import Any

import pytest
from telegram import Bot
from telegram.request import HTTPXRequest

from trading_bot.core.events import OrderFilled, OrderRejected
from trading_bot.core.model import Fill, OrderRole, Side
from trading_bot.notify.discord_config import DiscordSettings
from trading_bot.notify.telegram_config import TelegramSettings
from trading_bot.testing.fake_discord import FakeDiscord
from trading_bot.testing.fake_telegram import FakeTelegram

CHAT = 424242  # a private chat
GROUP = -1001234567890  # a supergroup
USER = 424242
T0 = 1_700_000_000_000
FAST_RETRY = {"retry_min_s": 0.01, "retry_max_s": 0.05}


@pytest.fixture
async def fake_telegram() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as fake:
        yield fake


@pytest.fixture
async def fake_discord() -> AsyncIterator[FakeDiscord]:
    async with FakeDiscord() as fake:
        yield fake


def telegram_bot(fake: FakeTelegram, read_timeout: float = 5.0) -> Bot:
    """A real PTB Bot whose only difference from production is its base URL."""
    return Bot(
        fake.token,
        base_url=fake.base_url,
        base_file_url=fake.base_file_url,
        request=HTTPXRequest(read_timeout=read_timeout, connect_timeout=1.0),
    )


@pytest.fixture
async def bot(fake_telegram: FakeTelegram) -> AsyncIterator[Bot]:
    async with telegram_bot(fake_telegram) as bot:
        yield bot


def telegram_settings(fake: FakeTelegram, **overrides: Any) -> TelegramSettings:
    values: dict[str, Any] = {
        "enabled": True,
        "bot_token": fake.token,
        "base_url": fake.base_url,
        "chat_ids": (CHAT,),
        "private_interval_s": 0.0,
        "group_interval_s": 0.0,
        **FAST_RETRY,
    }
    return TelegramSettings(**{**values, **overrides})


def discord_settings(url: str, **overrides: Any) -> DiscordSettings:
    values: dict[str, Any] = {"enabled": True, "webhook_url": url, **FAST_RETRY}
    return DiscordSettings(**{**values, **overrides})


def rejected(n: int) -> OrderRejected:
    """A notification-worthy event whose text names `n`, to check order and uniqueness."""
    return OrderRejected(f"SYM{n}/USDT", f"reason number {n}", T0 + n)


def entry_fill(n: int, qty: str = "0.5", price: str = "100") -> OrderFilled:
    return OrderFilled(
        Fill(
            f"c{n}",
            "BTC/USDT",
            Side.BUY,
            Decimal(qty),
            Decimal(price),
            Decimal("0.05"),
            T0 + n,
            OrderRole.ENTRY,
            reason=f"signal {n}",
        )
    )


def exit_fill(n: int, qty: str = "0.5", price: str = "110") -> OrderFilled:
    return OrderFilled(
        Fill(
            f"x{n}",
            "BTC/USDT",
            Side.SELL,
            Decimal(qty),
            Decimal(price),
            Decimal("0.05"),
            T0 + n,
            OrderRole.TAKE_PROFIT,
        )
    )


@contextlib.asynccontextmanager
async def running(run: Awaitable[None]) -> AsyncIterator[asyncio.Task[None]]:
    """A notifier's `run()` as a task for the block, cancelled after it."""
    task = asyncio.ensure_future(run)
    try:
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
