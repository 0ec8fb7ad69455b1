"""Telegram notifications: the outgoing side, paced per chat, independent of the command bot.

Hub handlers only queue (an outbox per chat); one task per chat sends what is pending in order,
about one message a second to a private chat and 20 a minute to a group, as Telegram allows.
When notifications pile up they are merged into one message (up to 4096 characters); a longer
one is split. Flood control (`RetryAfter`) is waited out and network errors are retried with
backoff; a message Telegram refuses for good (a blocked bot, an unknown chat) is logged and
dropped. It takes a `telegram.Bot`, so the command bot's `Application.bot` can be shared.
"""

from __future__ import annotations

import asyncio
import time
import warnings
from datetime import timedelta

import structlog
from telegram import Bot
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    NetworkError,
    RetryAfter,
    TelegramError,
)
from telegram.warnings import PTBDeprecationWarning

from trading_bot.core.clock import Clock, WallClock
from trading_bot.core.hub import EventHub
from trading_bot.notify import messages
from trading_bot.notify.messages import Notification, Pending
from trading_bot.notify.outbox import Outbox, drain
from trading_bot.notify.telegram_config import TelegramSettings
from trading_bot.notify.telegram_text import SEPARATOR, coalesce, render, split
from trading_bot.redaction import Redactor
from trading_bot.venues.backoff import Backoff

log = structlog.get_logger("trading_bot.notify.telegram")

MERGE_MAX = 100  # notifications looked at for one merged message


def retry_after_s(exc: RetryAfter) -> float:
    """Seconds Telegram asks to wait; PTB 22 gives int or timedelta and warns on the int."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


class TelegramSender:
    """Sends notifications to the settings' notify chats. Subscribes to `hub` (when given); the
    app adds its own (start, stop, heartbeat) with `notify()`. Run `run()` as a task (the bot
    must be initialized); `drain()` at shutdown gives what is pending a last chance."""

    def __init__(
        self,
        hub: EventHub | None,
        bot: Bot,
        settings: TelegramSettings,
        *,
        clock: Clock | None = None,
    ) -> None:
        self._bot = bot
        self._settings = settings
        self._redactor = Redactor([bot.token])
        self.outboxes = {
            chat_id: Outbox(settings.max_backlog, f"telegram {chat_id}", settings.notifications)
            for chat_id in settings.notify_chats
        }
        self.messages_sent = 0
        self.refused = 0
        if hub is not None:
            now_ms = (clock or WallClock()).now_ms
            messages.subscribe(hub, self._put, now_ms, settings.notifications)

    def notify(self, notification: Notification) -> None:
        """Queue a notification for every notify chat (as its kind's delivery setting says).
        Never blocks."""
        self._put(notification)

    def _put(self, notification: Pending) -> None:
        for outbox in self.outboxes.values():
            outbox.put(notification)

    async def run(self) -> None:
        """Send what is pending to every chat, for ever (cancel to stop)."""
        async with asyncio.TaskGroup() as group:
            for chat_id, outbox in self.outboxes.items():
                group.create_task(self._serve(chat_id, outbox))

    async def drain(self, timeout_s: float) -> bool:
        """Wait up to `timeout_s` for every chat's backlog to be sent (with `run()` running)."""
        return await drain(self.outboxes.values(), timeout_s)

    async def _serve(self, chat_id: int, outbox: Outbox) -> None:
        interval = (
            self._settings.group_interval_s if chat_id < 0 else self._settings.private_interval_s
        )
        backoff = Backoff(self._settings.retry_min_s, self._settings.retry_max_s)
        next_at = 0.0
        while True:
            await outbox.wait_pending()
            pending = outbox.peek(MERGE_MAX)
            if not pending:
                continue
            silent = pending[0].silent
            rendered = [render(n) for n in pending[: _same_loudness(pending)]]
            count = coalesce(rendered)
            for part in split(SEPARATOR.join(rendered[:count])):
                wait = next_at - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
                chat_id = await self._send(chat_id, part, silent, backoff)
                next_at = time.monotonic() + interval
            outbox.done(count)

    async def _send(self, chat_id: int, text: str, silent: bool, backoff: Backoff) -> int:
        """Send one message until Telegram takes or refuses it; the chat's id afterwards (a
        group upgraded to a supergroup gets a new one)."""
        while True:
            try:
                await self._bot.send_message(
                    chat_id, text, parse_mode=ParseMode.HTML, disable_notification=silent
                )
            except RetryAfter as exc:
                seconds = retry_after_s(exc)
                log.warning("telegram flood control; waiting", chat_id=chat_id, seconds=seconds)
                await asyncio.sleep(seconds)
                continue
            except ChatMigrated as exc:
                log.error(
                    "telegram group became a supergroup; put its new id in [telegram] chat_ids",
                    chat_id=chat_id,
                    new_chat_id=exc.new_chat_id,
                )
                chat_id = int(exc.new_chat_id)
                continue
            except BadRequest as exc:  # before NetworkError, its base class
                self._refused(chat_id, exc)
                return chat_id
            except NetworkError as exc:  # TimedOut included
                delay = backoff.next()
                log.warning(
                    "telegram unreachable; retrying",
                    chat_id=chat_id,
                    error=self._redactor.text(f"{type(exc).__name__}: {exc}"),
                    retry_in_s=round(delay, 2),
                )
                await asyncio.sleep(delay)
                continue
            except TelegramError as exc:  # Forbidden (bot blocked, kicked), InvalidToken, ...
                self._refused(chat_id, exc)
                return chat_id
            backoff.reset()
            self.messages_sent += 1
            return chat_id

    def _refused(self, chat_id: int, exc: TelegramError) -> None:
        self.refused += 1
        log.error(
            "telegram refused a notification; it is dropped",
            chat_id=chat_id,
            error=self._redactor.text(f"{type(exc).__name__}: {exc}"),
        )


def _same_loudness(pending: list[Notification]) -> int:
    """How many leading notifications share the first one's silence: a message is silent or
    not as a whole."""
    for i, notification in enumerate(pending):
        if notification.silent != pending[0].silent:
            return i
    return len(pending)
