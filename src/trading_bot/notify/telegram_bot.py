"""The Telegram command bot: people run the bot from their phone, and only they.

python-telegram-bot runs inside our own event loop (`initialize`, `start`,
`updater.start_polling`; the reverse at `stop`), never `run_polling`, which blocks and owns the
loop. Every command calls the control service (`trading_bot.control`), the same one the HTTP
API uses.

Only the configured chats (and, if set, users) are obeyed: anything else gets no answer at all,
and is logged with the sender. Destructive commands (/close, /closeall, /stop) ask first, with
inline buttons; a confirmation is good once, for `CONFIRM_TTL_S`, and only from the person who
asked. Another process polling with the same token (409 Conflict) is reported in one sentence
that says what to do.

Whatever arrives, the bot goes on: an update PTB cannot read, one that makes a handler fail, a
confirmation that is forged, used or expired, and a message that is no command of this bot are
each dropped with a logged reason and counted in `dropped` (shown by /health).
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections import Counter
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from html import escape
from typing import Any

import structlog
from telegram import BotCommand, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    Conflict,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
)
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from trading_bot import __version__
from trading_bot.control import BotControl, ControlError
from trading_bot.notify import telegram_replies as replies
from trading_bot.notify.telegram_config import TelegramSettings
from trading_bot.notify.telegram_intake import ReadableUpdates
from trading_bot.notify.telegram_sender import retry_after_s
from trading_bot.notify.telegram_text import split

log = structlog.get_logger("trading_bot.notify.telegram")

CONFIRM_TTL_S = 120.0
MAX_TRADES_SHOWN = 100
# why an update was dropped (besides the intake's UNREADABLE)
FAILED = "failed"
UNKNOWN_CONFIRMATION = "unknown confirmation"  # forged, garbled or already used
EXPIRED_CONFIRMATION = "expired confirmation"
NO_COMMAND = "no command"  # from an allowed chat, but no command of this bot
REPLY_ATTEMPTS = 3
CONFLICT_REPORT_EVERY_S = 600.0
CONFLICT_ADVICE = (
    "another program is polling Telegram with this bot's token (409 Conflict), so commands may "
    "go to it instead: stop the other bot instance, or give this one its own token from "
    "@BotFather"
)

Handler = Callable[[Update, ContextTypes.DEFAULT_TYPE], Coroutine[Any, Any, None]]


@dataclass(frozen=True, slots=True)
class _Pending:
    """A destructive command waiting for its confirmation."""

    action: str  # "close", "closeall", "stop"
    argument: str
    user_id: int
    chat_id: int
    expires: float


class TelegramControlBot:
    """Commands in, answers out; `application.bot` can be shared with the TelegramSender."""

    def __init__(
        self,
        settings: TelegramSettings,
        control: BotControl,
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        """`now` times confirmations (seconds; tests move it)."""
        assert settings.bot_token is not None, "TelegramSettings validates this"
        self.settings = settings
        self.control = control
        self._now = now
        self.application = (
            Application.builder()
            .token(settings.bot_token.get_secret_value())
            .base_url(settings.base_url)
            .base_file_url(settings.base_file_url)
            .get_updates_request(ReadableUpdates(self._drop))
            .build()
        )
        self.refused = 0  # strangers' messages, and presses of another person's confirmation
        self.dropped: Counter[str] = Counter()  # bad updates, by reason
        self.conflicts = 0
        self._conflict_reported = -CONFLICT_REPORT_EVERY_S
        self._pending: dict[str, _Pending] = {}
        self._add_handlers()

    # -- lifecycle ----------------------------------------------------------------------------

    async def start(self) -> None:
        """Connect (InvalidToken for a wrong token), announce the commands, start polling."""
        app = self.application
        await app.initialize()
        await app.start()
        await app.bot.set_my_commands(
            [BotCommand(name, about) for name, about in _COMMANDS.items()]
        )
        assert app.updater is not None
        await app.updater.start_polling(
            allowed_updates=[Update.MESSAGE, Update.CALLBACK_QUERY],
            error_callback=self._on_polling_error,
        )

    async def stop(self) -> None:
        app = self.application
        if app.updater is not None and app.updater.running:
            await app.updater.stop()
        if app.running:
            await app.stop()
        await app.shutdown()

    def _on_polling_error(self, exc: TelegramError) -> None:
        if isinstance(exc, Conflict):
            self.conflicts += 1
            now = time.monotonic()
            if now - self._conflict_reported >= CONFLICT_REPORT_EVERY_S:
                self._conflict_reported = now
                log.error(CONFLICT_ADVICE)
            return
        if isinstance(exc, InvalidToken):
            log.error("Telegram refused the bot token: check telegram.bot_token")
            return
        log.warning("telegram polling failed; retrying", error=str(exc))

    # -- handlers -----------------------------------------------------------------------------

    def _add_handlers(self) -> None:
        allowed: filters.BaseFilter = filters.Chat(chat_id=list(self.settings.chat_ids))
        if self.settings.user_ids:
            allowed = allowed & filters.User(user_id=list(self.settings.user_ids))
        app = self.application
        app.add_handler(MessageHandler(~allowed, self._stranger), group=-1)
        commands: dict[str, Handler] = {
            "start": self._help,
            "help": self._help,
            "status": self._status,
            "balance": self._balance,
            "positions": self._positions,
            "trades": self._trades,
            "profit": self._profit,
            "daily": self._daily,
            "performance": self._performance,
            "pause": self._pause,
            "resume": self._resume,
            "close": self._close,
            "closeall": self._close_all,
            "stop": self._stop,
            "reload_config": self._reload,
            "logs": self._logs,
            "health": self._health,
            "version": self._version,
        }
        for name, handler in commands.items():
            app.add_handler(CommandHandler(name, self._guarded(handler), filters=allowed))
        app.add_handler(CallbackQueryHandler(self._confirmation))
        app.add_handler(MessageHandler(allowed, self._no_command))  # what no handler above took
        app.add_error_handler(self._on_error)

    def _guarded(self, handler: Handler) -> Handler:
        """Answers a ControlError with its reason, and any other failure without crashing."""

        async def run(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
            try:
                await handler(update, context)
            except ControlError as exc:
                await _reply(update, f"⚠️ {escape(str(exc))}")
            except Exception as exc:  # fail loud, keep running
                self._failed(update, exc)
                await _reply(update, "⚠️ That failed; the log has the details.")

        return run

    async def _on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        """PTB's error handler: whatever escaped a handler (or its reply)."""
        self._failed(update, context.error)

    def _failed(self, update: object, exc: BaseException | None) -> None:
        self.dropped[FAILED] += 1
        update_id = update.update_id if isinstance(update, Update) else None
        log.error("telegram update failed", update_id=update_id, exc_info=exc)

    def _drop(self, reason: str, error: str, update: object) -> None:
        self.dropped[reason] += 1
        log.warning("telegram update dropped", reason=reason, error=error, update=str(update)[:200])

    async def _no_command(self, update: Update, _: ContextTypes.DEFAULT_TYPE) -> None:
        self.dropped[NO_COMMAND] += 1
        message = update.effective_message
        text = message.text if message is not None and isinstance(message.text, str) else ""
        log.info("telegram message ignored: no command of this bot", text=text[:40])

    async def _stranger(self, update: Update, _: ContextTypes.DEFAULT_TYPE) -> None:
        self.refused += 1
        user, chat = update.effective_user, update.effective_chat
        log.warning(
            "telegram message from a chat or user not allowed; ignored",
            chat_id=None if chat is None else chat.id,
            user_id=None if user is None else user.id,
            username=None if user is None else user.username,
            text=(update.effective_message.text or "")[:40] if update.effective_message else "",
        )

    # -- views --------------------------------------------------------------------------------

    async def _help(self, update: Update, _: ContextTypes.DEFAULT_TYPE) -> None:
        await _reply(update, replies.HELP)

    async def _status(self, update: Update, _: ContextTypes.DEFAULT_TYPE) -> None:
        await _reply(update, replies.status(self.control.status()))

    async def _balance(self, update: Update, _: ContextTypes.DEFAULT_TYPE) -> None:
        await _reply(update, replies.balance(self.control.balance()))

    async def _positions(self, update: Update, _: ContextTypes.DEFAULT_TYPE) -> None:
        await _reply(update, replies.positions(self.control.positions()))

    async def _trades(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        count = _count(context.args, 5)
        if count > MAX_TRADES_SHOWN:
            raise ControlError(f"at most {MAX_TRADES_SHOWN} trades fit in a chat; the API has all")
        await _reply(update, replies.trades(await self.control.trades(count)))

    async def _profit(self, update: Update, _: ContextTypes.DEFAULT_TYPE) -> None:
        await _reply(update, replies.profit(await self.control.profit()))

    async def _daily(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await _reply(update, replies.daily(await self.control.daily(_count(context.args, 7))))

    async def _performance(self, update: Update, _: ContextTypes.DEFAULT_TYPE) -> None:
        await _reply(update, replies.performance(await self.control.performance()))

    async def _health(self, update: Update, _: ContextTypes.DEFAULT_TYPE) -> None:
        text = replies.health(self.control.health()) + replies.scheduled(self.control.scheduled())
        await _reply(update, text + replies.intake(self.dropped, self.refused))

    async def _logs(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await _reply(update, replies.log_lines(self.control.logs(_count(context.args, 10))))

    async def _version(self, update: Update, _: ContextTypes.DEFAULT_TYPE) -> None:
        await _reply(update, f"trading-bot {__version__}")

    # -- controls -----------------------------------------------------------------------------

    async def _pause(self, update: Update, _: ContextTypes.DEFAULT_TYPE) -> None:
        done = self.control.pause(_who(update))
        await _reply(update, "⏸ Paused: no new entries; exits go on." if done else "Paused.")

    async def _resume(self, update: Update, _: ContextTypes.DEFAULT_TYPE) -> None:
        done = self.control.resume()
        await _reply(update, "▶ Resumed: new entries allowed." if done else "Not paused.")

    async def _reload(self, update: Update, _: ContextTypes.DEFAULT_TYPE) -> None:
        self.control.reload_config()
        await _reply(update, "Configuration reloaded (the log says what changed or why not).")

    async def _close(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        if not context.args:
            raise ControlError("say what to close: /close BTC/USDT, or an order id")
        target = context.args[0]
        await self._ask(update, "close", target, f"Close {escape(target)} at market?")

    async def _close_all(self, update: Update, _: ContextTypes.DEFAULT_TYPE) -> None:
        count = self.control.status().open_positions
        await self._ask(update, "closeall", "", f"Close all {count} position(s) at market?")

    async def _stop(self, update: Update, _: ContextTypes.DEFAULT_TYPE) -> None:
        await self._ask(update, "stop", "", "Stop the bot? It will not trade until restarted.")

    async def _ask(self, update: Update, action: str, argument: str, question: str) -> None:
        user, chat = update.effective_user, update.effective_chat
        if user is None or chat is None:  # an anonymous group admin, a channel
            raise ControlError("only a person can confirm this: send it from your own account")
        self._forget_expired()
        token = secrets.token_urlsafe(12)
        self._pending[token] = _Pending(
            action, argument, user.id, chat.id, self._now() + CONFIRM_TTL_S
        )
        buttons = InlineKeyboardMarkup(
            [
                [
                    InlineKeyboardButton("Yes", callback_data=f"yes:{token}"),
                    InlineKeyboardButton("Cancel", callback_data=f"no:{token}"),
                ]
            ]
        )
        await _reply(update, question, buttons)

    async def _confirmation(self, update: Update, _: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        if query is None:
            return
        data = query.data or ""  # a game button has none
        answer, _sep, token = data.partition(":")
        pending = self._pending.get(token)
        message = query.message
        chat_id = None if message is None else message.chat.id
        user_id = query.from_user.id
        if pending is None or (pending.user_id, pending.chat_id) != (user_id, chat_id):
            if pending is None:
                self._drop(UNKNOWN_CONFIRMATION, "no such confirmation waits", data[:64])
            else:
                self.refused += 1
                log.warning(
                    "telegram confirmation pressed by another person; refused",
                    action=pending.action,
                    user_id=user_id,
                    chat_id=chat_id,
                )
            await query.answer("This confirmation is not yours, or it has expired.")
            return
        del self._pending[token]  # good once
        if self._now() > pending.expires:
            self._drop(EXPIRED_CONFIRMATION, "pressed too late", pending.action)
            await query.answer("Expired: ask again.")
            await query.edit_message_text("Expired: nothing was done.")
            return
        await query.answer()
        if answer != "yes":
            await query.edit_message_text("Cancelled: nothing was done.")
            return
        try:
            result = self._carry_out(pending, _who(update))
        except ControlError as exc:
            result = f"⚠️ {escape(str(exc))}"
        await query.edit_message_text(result, parse_mode=ParseMode.HTML)
        if pending.action == "stop":
            self.control.stop()  # after the answer: the bot's shutdown stops this bot too

    def _carry_out(self, pending: _Pending, who: str) -> str:
        if pending.action == "close":
            return escape(self.control.close(pending.argument, who).capitalize()) + "."
        if pending.action == "closeall":
            count = self.control.close_all(who)
            return f"Closing {count} position(s) at market; open orders cancelled."
        return "Stopping: open orders and positions stay as they are, state is saved."

    def _forget_expired(self) -> None:
        now = self._now()
        for token in [t for t, p in self._pending.items() if p.expires < now]:
            del self._pending[token]


_COMMANDS = {
    "status": "mode, equity, positions, feed",
    "balance": "cash, equity, PnL, fees",
    "positions": "open positions",
    "trades": "the last trades: /trades 10",
    "profit": "realized PnL and win rate",
    "daily": "PnL per day: /daily 7",
    "performance": "PnL by entry reason",
    "pause": "no new entries",
    "resume": "new entries again",
    "close": "close a position: /close BTC/USDT",
    "closeall": "close every position",
    "stop": "stop the bot",
    "reload_config": "re-read the configuration",
    "logs": "the last log lines: /logs 20",
    "health": "problems, if any",
    "version": "the bot's version",
    "help": "every command",
}


def _count(args: list[str] | None, default: int) -> int:
    if not args:
        return default
    try:
        return int(args[0])
    except ValueError:
        raise ControlError(f"expected a number, got {args[0][:20]!r}") from None


def _who(update: Update) -> str:
    user = update.effective_user
    if user is None:
        return "telegram"
    return f"telegram @{user.username}" if user.username else f"telegram user {user.id}"


async def _reply(update: Update, text: str, markup: InlineKeyboardMarkup | None = None) -> None:
    """Answer in HTML, split at Telegram's limit; flood control and network errors are waited
    out and retried (a few times: an answer minutes late is worse than none)."""
    message = update.effective_message
    if message is None:
        return
    parts = split(text)
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        for attempt in range(1, REPLY_ATTEMPTS + 1):
            try:
                await message.reply_text(
                    part, parse_mode=ParseMode.HTML, reply_markup=markup if last else None
                )
                break
            except RetryAfter as exc:
                if attempt == REPLY_ATTEMPTS:
                    raise
                await asyncio.sleep(retry_after_s(exc))
            except NetworkError as exc:  # TimedOut too; a BadRequest is final
                if attempt == REPLY_ATTEMPTS or isinstance(exc, BadRequest):
                    raise
                await asyncio.sleep(attempt)
