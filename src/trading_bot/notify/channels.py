"""The messaging channels of a run, started and stopped together: the Telegram command bot and
its notifications, and the Discord webhook. Each is optional (`enabled`); a channel that fails
never stops the trading loop, and sending never blocks it (bounded outboxes, tasks that send).
"""

from __future__ import annotations

from collections.abc import Coroutine
from typing import Any

import structlog

from trading_bot.control import BotControl
from trading_bot.core.clock import Clock
from trading_bot.core.hub import EventHub
from trading_bot.notify.discord import DiscordNotifier
from trading_bot.notify.discord_config import DiscordSettings
from trading_bot.notify.messages import Notification
from trading_bot.notify.telegram_bot import TelegramControlBot
from trading_bot.notify.telegram_config import TelegramSettings
from trading_bot.notify.telegram_sender import TelegramSender

log = structlog.get_logger("trading_bot.notify")


class Channels:
    def __init__(
        self,
        telegram: TelegramSettings,
        discord: DiscordSettings,
        hub: EventHub,
        clock: Clock,
        control: BotControl,
    ) -> None:
        self.telegram_bot: TelegramControlBot | None = None
        self.telegram: TelegramSender | None = None
        self.discord: DiscordNotifier | None = None
        if telegram.enabled:
            self.telegram_bot = TelegramControlBot(telegram, control)
            bot = self.telegram_bot.application.bot  # its connection pool serves many chats
            self.telegram = TelegramSender(hub, bot, telegram, clock=clock)
        if discord.enabled:
            self.discord = DiscordNotifier(hub, discord, clock=clock)

    async def start(self) -> dict[str, Coroutine[Any, Any, None]]:
        """Start the command bot; the sending tasks to run."""
        tasks: dict[str, Coroutine[Any, Any, None]] = {}
        if self.telegram_bot is not None and self.telegram is not None:
            await self.telegram_bot.start()
            tasks["telegram-sender"] = self.telegram.run()
        if self.discord is not None:
            tasks["discord-notifier"] = self.discord.run()
        return tasks

    def notify(self, notification: Notification) -> None:
        """The app's own notices (start, stop) to every channel."""
        for channel in (self.telegram, self.discord):
            if channel is not None:
                channel.notify(notification)

    async def drain(self, timeout_s: float) -> None:
        """Give what is pending a last chance (the sending tasks still running)."""
        for channel in (self.telegram, self.discord):
            if channel is not None and not await channel.drain(timeout_s):
                log.warning("notifications still pending at shutdown were dropped")

    async def stop(self) -> None:
        """Stop polling Telegram (after the sending tasks are cancelled)."""
        if self.telegram_bot is not None:
            try:
                await self.telegram_bot.stop()
            except Exception as exc:  # shutting down: nothing is lost, but say so
                log.warning("telegram did not stop cleanly", error=str(exc))
