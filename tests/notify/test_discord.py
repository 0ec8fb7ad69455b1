"""DiscordNotifier over real HTTP against the fake webhook: order, no duplicates, 429 and
bucket headers, batching, Discord's size limits, and a secret webhook URL."""

from __future__ import annotations

import re

import pytest
import structlog
from pydantic import ValidationError

from tests.notify.conftest import T0, discord_settings, rejected, running
from trading_bot.core.hub import EventHub
from trading_bot.notify import messages
from trading_bot.notify.discord import SUPPRESS_NOTIFICATIONS, DiscordNotifier
from trading_bot.notify.messages import Field, Kind, Notification, Outcome
from trading_bot.testing.fake_discord import (
    WEBHOOK_TOKEN,
    FakeDiscord,
    embed_length,
    payload_errors,
)

REASON = re.compile(r"reason number (\d+)")


def reasons(fake: FakeDiscord) -> list[int]:
    return [int(n) for e in fake.embeds() for n in REASON.findall(e.get("description", ""))]


async def test_rate_limited_then_recovered_delivers_everything_in_order_once(
    fake_discord: FakeDiscord,
) -> None:
    hub = EventHub()
    notifier = DiscordNotifier(hub, discord_settings(fake_discord.webhook_url))
    fake_discord.rate_limit(3, retry_after=0.1)
    async with running(notifier.run()):
        for n in range(1, 16):
            hub.publish(rejected(n))
        await fake_discord.wait_for(lambda: len(fake_discord.embeds()) >= 15)
        for n in range(16, 21):
            hub.publish(rejected(n))
        assert await notifier.drain(5.0)
    assert reasons(fake_discord) == list(range(1, 21))
    assert fake_discord.statuses[:3] == [429, 429, 429]
    assert notifier.refused == 0


async def test_a_backlog_is_batched_ten_embeds_a_post(fake_discord: FakeDiscord) -> None:
    hub = EventHub()
    notifier = DiscordNotifier(hub, discord_settings(fake_discord.webhook_url))
    for n in range(1, 26):
        hub.publish(rejected(n))
    async with running(notifier.run()):
        assert await notifier.drain(5.0)
    assert [len(p["embeds"]) for p in fake_discord.posts] == [10, 10, 5]
    assert reasons(fake_discord) == list(range(1, 26))
    first = fake_discord.posts[0]["embeds"][0]
    assert first["title"] == "Rejected: SYM1/USDT"
    assert first["color"] == 0xE74C3C
    assert first["timestamp"] == "2023-11-14T22:13:20Z"


async def test_the_bucket_headers_are_honoured_without_a_429(fake_discord: FakeDiscord) -> None:
    fake_discord.limit, fake_discord.window_s = 2, 0.3
    notifier = DiscordNotifier(None, discord_settings(fake_discord.webhook_url))
    async with running(notifier.run()):
        for n in range(1, 6):  # one post each: each is sent before the next is queued
            notifier.notify(messages.order_rejected(rejected(n)))
            await fake_discord.wait_posts(n)
    assert reasons(fake_discord) == [1, 2, 3, 4, 5]
    assert fake_discord.statuses == [200] * 5


async def test_oversized_notifications_are_cut_to_discords_limits_never_refused(
    fake_discord: FakeDiscord,
) -> None:
    huge = Notification(
        Kind.ERROR,
        "T" * 1000,
        T0,
        Outcome.BAD,
        lines=("d" * 10_000,),
        fields=tuple(Field("n" * 300, "v" * 2000) for _ in range(40)),
    )
    notifier = DiscordNotifier(None, discord_settings(fake_discord.webhook_url))
    for _ in range(3):
        notifier.notify(huge)
    notifier.notify(Notification(Kind.ERROR, "", T0, fields=(Field("", ""),)))
    async with running(notifier.run()):
        assert await notifier.drain(5.0)
    assert fake_discord.statuses == [200, 200, 200, 200]  # each huge one alone: 6000 in all
    assert notifier.delivered == 4
    for post in fake_discord.posts:
        assert payload_errors(post) == {}
        assert sum(embed_length(e) for e in post["embeds"]) <= 6000
    embed = fake_discord.posts[0]["embeds"][0]
    assert len(embed["title"]) == 256 and embed["title"].endswith("…")
    assert all(len(f["value"]) == 1024 for f in embed["fields"])


async def test_silent_notifications_suppress_the_alert_and_off_kinds_are_not_posted(
    fake_discord: FakeDiscord,
) -> None:
    settings = discord_settings(fake_discord.webhook_url, notifications={"rejected": "off"})
    hub = EventHub()
    notifier = DiscordNotifier(hub, settings)
    hub.publish(rejected(1))
    notifier.notify(messages.heartbeat(T0, {"Equity": "10 000"}))
    notifier.notify(messages.stopped(T0, "stopped by /stop"))
    async with running(notifier.run()):
        assert await notifier.drain(5.0)
    heartbeat, stop = fake_discord.posts
    assert heartbeat["flags"] == SUPPRESS_NOTIFICATIONS
    assert heartbeat["embeds"][0]["fields"] == [
        {"name": "Equity", "value": "10 000", "inline": True}
    ]
    assert "flags" not in stop and stop["embeds"][0]["description"] == "stopped by /stop"


async def test_server_errors_are_retried_and_refusals_dropped_without_leaking_the_url(
    fake_discord: FakeDiscord,
) -> None:
    notifier = DiscordNotifier(None, discord_settings(fake_discord.webhook_url))
    fake_discord.fail(2, 503)
    notifier.notify(messages.order_rejected(rejected(1)))
    with structlog.testing.capture_logs() as logs:
        async with running(notifier.run()):
            assert await notifier.drain(5.0)
            fake_discord.fail(1, 400)
            notifier.notify(messages.order_rejected(rejected(2)))
            notifier.notify(messages.order_rejected(rejected(3)))
            assert await notifier.drain(5.0)
            notifier.notify(messages.order_rejected(rejected(4)))
            assert await notifier.drain(5.0)
    assert reasons(fake_discord) == [1, 4]
    assert fake_discord.statuses == [503, 503, 200, 400, 200]
    assert notifier.refused == 2
    assert any(e["event"].startswith("discord refused") for e in logs)
    assert WEBHOOK_TOKEN not in repr(logs)


async def test_an_unreachable_webhook_is_retried_without_leaking_its_url() -> None:
    async with FakeDiscord() as fake:
        url = fake.webhook_url
    notifier = DiscordNotifier(None, discord_settings(url))
    notifier.notify(messages.order_rejected(rejected(1)))
    with structlog.testing.capture_logs() as logs:
        async with running(notifier.run()):
            assert not await notifier.drain(0.3)
    retries = [e for e in logs if e["event"].startswith("discord webhook unreachable")]
    assert len(retries) >= 2
    assert WEBHOOK_TOKEN not in repr(logs)
    assert len(notifier.outbox) == 1  # still waiting to be sent, not lost


def test_the_webhook_url_is_a_secret_and_required_when_enabled() -> None:
    settings = discord_settings("https://discord.com/api/webhooks/1/very-secret")
    assert "very-secret" not in repr(settings) and "very-secret" not in str(settings)
    with pytest.raises(ValueError, match="no webhook URL"):
        discord_settings(None)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="starting with https://") as refused:
        discord_settings("discord.com/api/webhooks/1/very-secret")
    # the configuration loader shows a keyed error's ctx value: a secret's is never given
    assert refused.value.errors()[0]["ctx"] == {"key": "webhook_url"}
    with pytest.raises(ValueError, match="notifications"):
        discord_settings("https://x/api/webhooks/1/t", notifications={"fills": "on"})
