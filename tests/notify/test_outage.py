"""A Telegram or Discord outage never slows the trading path: publishing fills with a notifier
subscribed to a dead, failing or hanging service takes about as long as without it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import pytest

from tests.notify.conftest import (
    CHAT,
    discord_settings,
    entry_fill,
    exit_fill,
    running,
    telegram_bot,
    telegram_settings,
)
from trading_bot.core.clock import SimulatedClock
from trading_bot.core.events import Event, PositionClosed
from trading_bot.core.hub import EventHub
from trading_bot.notify.discord import DiscordNotifier
from trading_bot.notify.telegram_sender import TelegramSender
from trading_bot.portfolio.manager import PortfolioManager
from trading_bot.testing.fake_discord import FakeDiscord
from trading_bot.testing.fake_telegram import FakeTelegram

ROUND_TRIPS = 1000
BURST = 50  # events published between two turns of the event loop
FACTOR = 10  # generous: the notifier only builds a message and queues it
# A notifier attached to a hub: its `run()` and how many notifications still wait.
Attached = tuple[Callable[[], Coroutine[Any, Any, None]], Callable[[], int]]
Attach = Callable[[EventHub], Attached]


def fills() -> list[Event]:
    return [e for n in range(ROUND_TRIPS) for e in (entry_fill(2 * n), exit_fill(2 * n + 1))]


def pipeline() -> tuple[EventHub, list[PositionClosed]]:
    """The part of the pipeline a fill goes through: the portfolio books it, closes trades."""
    hub = EventHub()
    PortfolioManager(hub, SimulatedClock(0), 1_000_000.0, 60_000)
    closed: list[PositionClosed] = []
    hub.subscribe(PositionClosed, closed.append)
    return hub, closed


async def publish_all(hub: EventHub, events: list[Event]) -> float:
    """Seconds to publish every event, giving the loop (and the notifier's task) a turn
    between bursts as a live feed does."""
    start = time.perf_counter()
    for i in range(0, len(events), BURST):
        for event in events[i : i + BURST]:
            hub.publish(event)
        await asyncio.sleep(0)
    return time.perf_counter() - start


@asynccontextmanager
async def telegram_outage(mode: str) -> AsyncIterator[Attach]:
    async with FakeTelegram() as fake, telegram_bot(fake, read_timeout=0.05) as bot:
        if mode == "down":
            await fake.close()
        elif mode == "5xx":
            fake.fail("sendMessage", 10**9, 502)
        else:
            fake.delay("sendMessage", 30.0)
        settings = telegram_settings(fake, max_backlog=10_000)
        senders: list[TelegramSender] = []

        def attach(hub: EventHub) -> Attached:
            sender = TelegramSender(hub, bot, settings)
            senders.append(sender)
            return sender.run, lambda: len(sender.outboxes[CHAT])

        yield attach
        for sender in senders:
            assert sender.messages_sent == 0


@asynccontextmanager
async def discord_outage(mode: str) -> AsyncIterator[Attach]:
    async with FakeDiscord() as fake:
        if mode == "down":
            await fake.close()
        elif mode == "5xx":
            fake.fail(10**9, 503)
        else:
            fake.delay_s = 30.0
        settings = discord_settings(fake.webhook_url, max_backlog=10_000, request_timeout_s=0.05)
        notifiers: list[DiscordNotifier] = []

        def attach(hub: EventHub) -> Attached:
            notifier = DiscordNotifier(hub, settings)
            notifiers.append(notifier)
            return notifier.run, lambda: len(notifier.outbox)

        yield attach
        for notifier in notifiers:
            assert notifier.delivered == 0


OUTAGES: dict[str, Callable[[str], AbstractAsyncContextManager[Attach]]] = {
    "telegram": telegram_outage,
    "discord": discord_outage,
}


@pytest.mark.parametrize("service", ["telegram", "discord"])
@pytest.mark.parametrize("mode", ["down", "5xx", "hanging"])
async def test_an_outage_does_not_slow_publishing(service: str, mode: str) -> None:
    events = fills()
    without: list[float] = []
    with_notifier: list[float] = []
    async with OUTAGES[service](mode) as attach:
        for _ in range(3):  # interleaved, best of three: the same machine state for both
            hub, closed = pipeline()
            without.append(await publish_all(hub, events))
            assert len(closed) == ROUND_TRIPS

            hub, closed = pipeline()
            run, waiting = attach(hub)
            async with running(run()):
                with_notifier.append(await publish_all(hub, events))
                assert len(closed) == ROUND_TRIPS
                assert waiting() >= 2 * ROUND_TRIPS - 2  # nothing got through the outage
    assert min(with_notifier) < FACTOR * min(without), (with_notifier, without)
