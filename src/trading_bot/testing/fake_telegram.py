"""A fake Telegram Bot API server on 127.0.0.1: python-telegram-bot talks to it unchanged.

Point a bot at it with its base URL: ``Application.builder().token(fake.token)
.base_url(fake.base_url).base_file_url(fake.base_file_url)`` (PTB appends the token to both;
requests then go to ``/bot<token>/<method>`` as on api.telegram.org). It serves getMe,
getWebhookInfo, deleteWebhook, getUpdates (real long polling: held until an update arrives or
`timeout` passes; `offset` confirms updates; a second concurrent poll ends the first with 409, as
Telegram does), sendMessage (HTML parse mode applied and checked, inline keyboards, 4096-character
limit), editMessageText, editMessageReplyMarkup, answerCallbackQuery and set/get/deleteMyCommands.
Parameters are accepted as Telegram accepts them (query string, form, multipart or JSON) and
answers have the Bot API's shapes: ``{"ok": true, "result": ...}`` or ``{"ok": false,
"error_code", "description", "parameters"}``.

Tests play the users: `send_text(chat_id, user_id, "/status")` and `press_button(chat_id,
user_id, data=...)` queue updates, and `push_update(content)` queues any update at all (hostile
ones for fuzzing); `sent(chat_id)` lists what the bot sent there and
`wait_sent(chat_id, n)` waits for it, without sleeping. Faults: `fail(method, times, 429,
retry_after=1)` (flood control), `fail("getUpdates", times, 409)` (another instance polling),
`fail(method, times, 502)`, and `delay(method, seconds)`.
"""

from __future__ import annotations

import asyncio
import re
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import orjson
from aiohttp import web

from trading_bot.testing.loopback import LoopbackServer
from trading_bot.testing.telegram_html import EntityParseError, parse_html, utf16_len
from trading_bot.testing.telegram_shapes import (
    BOT_USER,
    ApiError,
    Call,
    Chat,
    Content,
    Params,
    SentMessage,
    user_json,
)


def new_token() -> str:
    """A bot token in Telegram's shape (`<bot id>:<35 characters>`), made up for each fake so
    that no token, real-looking or not, is written in the code."""
    return f"{secrets.randbelow(9 * 10**8) + 10**8}:{secrets.token_urlsafe(26)[:35]}"


TEXT_MAX = 4096
CONFLICT = (
    "Conflict: terminated by other getUpdates request; "
    "make sure that only one bot instance is running"
)
FAULT_DESCRIPTIONS = {
    400: "Bad Request: chat not found",
    403: "Forbidden: bot was blocked by the user",
    502: "Bad Gateway",
}
_COMMAND = re.compile(r"^/[A-Za-z0-9_]{1,32}(@[A-Za-z0-9_]+)?")
_BOT_COMMAND = re.compile(r"^[a-z0-9_]{1,32}$")


@dataclass
class _Fault:
    status: int
    times: int
    retry_after: int | float | None


class FakeTelegram(LoopbackServer):
    def __init__(self, token: str | None = None) -> None:
        super().__init__()
        self.token = token or new_token()
        self.calls: list[Call] = []
        self.commands: list[dict[str, str]] = []
        self.callback_answers: dict[str, dict[str, Any]] = {}
        self._chats: dict[int, Chat] = {}
        self._updates: list[dict[str, Any]] = []
        self._next_update_id = 500_000_001
        self._next_callback_id = 7_000_000_000_000_000
        self._open_callbacks: set[str] = set()
        self._faults: dict[str, _Fault] = {}
        self._delays: dict[str, float] = {}
        self._poll_generation = 0
        self._changed = asyncio.Event()
        self._closing = False
        handlers: dict[str, Callable[[Params], Awaitable[Any]]] = {
            "getMe": self._get_me,
            "getWebhookInfo": self._get_webhook_info,
            "deleteWebhook": self._delete_webhook,
            "getUpdates": self._get_updates,
            "sendMessage": self._send_message,
            "editMessageText": self._edit_message_text,
            "editMessageReplyMarkup": self._edit_reply_markup,
            "answerCallbackQuery": self._answer_callback_query,
            "setMyCommands": self._set_my_commands,
            "getMyCommands": self._get_my_commands,
            "deleteMyCommands": self._delete_my_commands,
        }
        # Telegram's method names are case-insensitive
        self._methods = {name.lower(): (name, handler) for name, handler in handlers.items()}

    # -- lifecycle ---------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return self.origin

    @property
    def base_url(self) -> str:
        """For PTB's `base_url`: it appends the token."""
        return f"{self.url}/bot"

    @property
    def base_file_url(self) -> str:
        return f"{self.url}/file/bot"

    def _application(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/bot{token}/{method}", self._dispatch)
        return app

    async def close(self) -> None:
        """Stop serving; long polls held open return at once."""
        self._closing = True
        self._notify()
        await super().close()

    # -- what tests do -----------------------------------------------------------------------

    def fail(
        self, method: str, times: int, status: int = 429, retry_after: int | float | None = 1
    ) -> None:
        """Answer the next `times` calls of `method` with `status`: 429 carries `retry_after`
        in `parameters` (Telegram sends whole seconds), 409 is a competing poller, 403 a bot
        the user blocked, 400 an unknown chat, 5xx a server in trouble."""
        self._faults[method.lower()] = _Fault(status, times, retry_after)

    def delay(self, method: str, seconds: float) -> None:
        """Hold every answer to `method` for `seconds` (0: no more delay)."""
        self._delays[method.lower()] = seconds

    def send_text(self, chat_id: int, user_id: int, text: str) -> int:
        """A user writes `text` in a chat (a command when it starts with /); the update id."""
        chat = self._chat(chat_id)
        message: dict[str, Any] = {
            "message_id": self._take_message_id(chat),
            "from": user_json(user_id),
            "chat": chat.json(),
            "date": int(time.time()),
            "text": text,
        }
        if command := _COMMAND.match(text):
            message["entities"] = [
                {"type": "bot_command", "offset": 0, "length": utf16_len(command.group(0))}
            ]
        return self._push({"message": message})

    def press_button(
        self,
        chat_id: int,
        user_id: int,
        *,
        data: str | None = None,
        text: str | None = None,
        message_id: int | None = None,
    ) -> str:
        """A user presses an inline button (found by callback `data` or label `text`) of a bot
        message (`message_id`, or the latest one that has such a button); the query id."""
        chat = self._chat(chat_id)
        candidates = [chat.messages[message_id]] if message_id in chat.messages else []
        if message_id is None:
            candidates = list(reversed(chat.sent))
        for message in candidates:
            for button in message.buttons():
                if (data is None or button.get("callback_data") == data) and (
                    text is None or button.get("text") == text
                ):
                    return self._push_callback(chat, message, user_id, button["callback_data"])
        raise LookupError(f"no bot message in chat {chat_id} has a button {data or text!r}")

    def push_update(self, content: dict[str, Any]) -> int:
        """Queue an update of any content (`{"message": {...}}`, or anything else) as Telegram
        would deliver it, with the next update id; the id of a callback query in it can be
        answered once. The content is not checked: this is how tests send what the real
        Telegram never would. Returns the update id."""
        query = content.get("callback_query")
        if isinstance(query, dict) and isinstance(query.get("id"), str):
            self._open_callbacks.add(query["id"])
        return self._push(content)

    def sent(self, chat_id: int) -> list[SentMessage]:
        """What the bot sent to a chat, in order (edits applied)."""
        return list(self._chat(chat_id).sent)

    def calls_of(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method.lower() == method.lower()]

    async def wait_sent(self, chat_id: int, count: int, timeout: float = 10.0) -> list[SentMessage]:
        """What the bot sent to a chat, once it has sent at least `count` messages."""
        await self.wait_for(lambda: len(self._chat(chat_id).sent) >= count, timeout)
        return self.sent(chat_id)

    def next_sent(self, chat_id: int, timeout: float = 10.0) -> Awaitable[SentMessage]:
        """The next message the bot sends to a chat after this call: call it before causing the
        message, await it after."""
        seen = len(self._chat(chat_id).sent)

        async def arrival() -> SentMessage:
            return (await self.wait_sent(chat_id, seen + 1, timeout))[seen]

        return arrival()

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 10.0) -> None:
        """Wait until `predicate` holds; it is checked again after every call and update."""
        async with asyncio.timeout(timeout):
            while not predicate():
                self._changed.clear()
                await self._changed.wait()

    # -- internals ---------------------------------------------------------------------------

    def _notify(self) -> None:
        self._changed.set()

    def _chat(self, chat_id: int) -> Chat:
        chat = self._chats.get(chat_id)
        if chat is None:
            chat = self._chats[chat_id] = Chat(chat_id)
        return chat

    @staticmethod
    def _take_message_id(chat: Chat) -> int:
        chat.next_message_id += 1
        return chat.next_message_id - 1

    def _push(self, content: dict[str, Any]) -> int:
        update_id = self._next_update_id
        self._next_update_id += 1
        self._updates.append({"update_id": update_id, **content})
        self._notify()
        return update_id

    def _push_callback(self, chat: Chat, message: SentMessage, user_id: int, data: str) -> str:
        self._next_callback_id += 1
        query_id = str(self._next_callback_id)
        self._open_callbacks.add(query_id)
        self._push(
            {
                "callback_query": {
                    "id": query_id,
                    "from": user_json(user_id),
                    "message": self._message_json(chat, message),
                    "chat_instance": str(abs(chat.id) * 7 + 1),
                    "data": data,
                }
            }
        )
        return query_id

    def _message_json(self, chat: Chat, message: SentMessage) -> dict[str, Any]:
        result: dict[str, Any] = {
            "message_id": message.message_id,
            "from": BOT_USER,
            "chat": chat.json(),
            "date": message.date,
            "text": message.text,
        }
        if message.entities:
            result["entities"] = message.entities
        if message.reply_markup:
            result["reply_markup"] = message.reply_markup
        if message.edits:
            result["edit_date"] = int(time.time())
        return result

    async def _dispatch(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return self._error(ApiError(401, "Unauthorized"))
        key = request.match_info["method"].lower()
        if key not in self._methods:
            return self._error(ApiError(404, "Not Found"))
        name, handler = self._methods[key]
        params = Params(await self._read_params(request))
        call = Call(name, params.values, time.monotonic())
        self.calls.append(call)
        try:
            if delay := self._delays.get(key):
                await asyncio.sleep(delay)
            self._inject_fault(key)
            result = await handler(params)
        except ApiError as exc:
            call.status = exc.code
            self._notify()
            return self._error(exc)
        self._notify()
        return web.Response(
            body=orjson.dumps({"ok": True, "result": result}), content_type="application/json"
        )

    @staticmethod
    async def _read_params(request: web.Request) -> dict[str, Any]:
        values: dict[str, Any] = dict(request.query)
        if request.content_type == "application/json":
            body = orjson.loads(await request.read() or b"{}")
            if isinstance(body, dict):
                values.update(body)
        elif request.can_read_body:
            form = await request.post()
            values.update({k: v for k, v in form.items() if isinstance(v, str)})
        return values

    def _inject_fault(self, key: str) -> None:
        fault = self._faults.get(key)
        if fault is None or fault.times <= 0:
            return
        fault.times -= 1
        if fault.status == 429:
            retry_after = fault.retry_after or 1
            raise ApiError(
                429, f"Too Many Requests: retry after {retry_after}", {"retry_after": retry_after}
            )
        if fault.status == 409:
            raise ApiError(409, CONFLICT)
        raise ApiError(fault.status, FAULT_DESCRIPTIONS.get(fault.status, "Internal Server Error"))

    @staticmethod
    def _error(exc: ApiError) -> web.Response:
        body: dict[str, Any] = {"ok": False, "error_code": exc.code, "description": exc.description}
        if exc.parameters:
            body["parameters"] = exc.parameters
        return web.Response(
            status=exc.code, body=orjson.dumps(body), content_type="application/json"
        )

    # -- methods -----------------------------------------------------------------------------

    async def _get_me(self, params: Params) -> dict[str, Any]:
        return {
            **BOT_USER,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def _get_webhook_info(self, params: Params) -> dict[str, Any]:
        return {
            "url": "",
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }

    async def _delete_webhook(self, params: Params) -> bool:
        if params.flag("drop_pending_updates"):
            self._updates.clear()
        return True

    async def _get_updates(self, params: Params) -> list[dict[str, Any]]:
        offset = params.integer("offset", 0) or 0
        limit = min(max(params.integer("limit", 100) or 100, 1), 100)
        timeout = max(params.integer("timeout", 0) or 0, 0)
        allowed = params.obj("allowed_updates") or None
        if offset > 0:  # confirms every update before it
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        elif offset < 0:
            self._updates = self._updates[offset:]
        self._poll_generation += 1  # a poll still held open ends with 409
        generation = self._poll_generation
        self._notify()
        deadline = time.monotonic() + timeout
        while True:
            ready = [u for u in self._updates if allowed is None or set(u) & set(allowed)]
            if ready or self._closing:
                return ready[:limit]
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return []
            self._changed.clear()
            try:
                async with asyncio.timeout(remaining):
                    await self._changed.wait()
            except TimeoutError:
                return []
            if generation != self._poll_generation:
                raise ApiError(409, CONFLICT)

    def _content(self, params: Params) -> Content:
        """A message's text as shown, with its source, parse mode, entities and keyboard."""
        source = params.text("text") or ""
        parse_mode = params.text("parse_mode")
        text, entities = source, list[dict[str, Any]]()
        if parse_mode is not None and parse_mode.lower() == "html":
            try:
                text, entities = parse_html(source)
            except EntityParseError as exc:
                raise ApiError(400, f"Bad Request: can't parse entities: {exc}") from None
        if not text.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        if utf16_len(text) > TEXT_MAX:
            raise ApiError(400, "Bad Request: message is too long")
        markup = params.obj("reply_markup")
        if not isinstance(markup, dict) or not isinstance(markup.get("inline_keyboard"), list):
            markup = None  # reply keyboards are not part of the message
        checked = None if markup is None else self._checked(markup)
        return Content(text, source, parse_mode, entities, checked)

    @staticmethod
    def _checked(markup: dict[str, Any]) -> dict[str, Any]:
        for row in markup["inline_keyboard"]:
            for button in row:
                data = button.get("callback_data")
                if not button.get("text"):
                    raise ApiError(
                        400, "Bad Request: text buttons are unallowed in the inline keyboard"
                    )
                if data is not None and not 1 <= len(str(data).encode()) <= 64:
                    raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
        return markup

    def _chat_of(self, params: Params) -> Chat:
        chat_id = params.integer("chat_id")
        if chat_id is None:
            raise ApiError(400, "Bad Request: chat_id is empty")
        return self._chat(chat_id)

    async def _send_message(self, params: Params) -> dict[str, Any]:
        chat = self._chat_of(params)
        c = self._content(params)
        message = SentMessage(
            chat.id,
            self._take_message_id(chat),
            c.text,
            c.source,
            c.parse_mode,
            c.entities,
            c.markup,
            params.flag("disable_notification"),
            int(time.time()),
        )
        chat.messages[message.message_id] = message
        chat.sent.append(message)
        return self._message_json(chat, message)

    def _bot_message(self, params: Params) -> tuple[Chat, SentMessage]:
        if params.text("inline_message_id"):
            raise ApiError(400, "Bad Request: inline messages are not supported by this fake")
        chat = self._chat_of(params)
        message_id = params.required_int("message_id", "message identifier is not specified")
        message = chat.messages.get(message_id)
        if message is None:
            raise ApiError(400, "Bad Request: message to edit not found")
        return chat, message

    async def _edit_message_text(self, params: Params) -> dict[str, Any]:
        chat, message = self._bot_message(params)
        c = self._content(params)
        if (c.text, c.entities, c.markup) == (message.text, message.entities, message.reply_markup):
            raise ApiError(
                400,
                "Bad Request: message is not modified: specified new message content and reply "
                "markup are exactly the same as a current content and reply markup of the message",
            )
        message.text, message.source, message.parse_mode = c.text, c.source, c.parse_mode
        message.entities, message.reply_markup = c.entities, c.markup
        message.edits += 1
        return self._message_json(chat, message)

    async def _edit_reply_markup(self, params: Params) -> dict[str, Any]:
        chat, message = self._bot_message(params)
        markup = params.obj("reply_markup")
        markup = self._checked(markup) if markup else None
        if markup == message.reply_markup:
            raise ApiError(400, "Bad Request: message is not modified")
        message.reply_markup = markup
        message.edits += 1
        return self._message_json(chat, message)

    async def _answer_callback_query(self, params: Params) -> bool:
        query_id = params.text("callback_query_id") or ""
        if query_id not in self._open_callbacks:
            raise ApiError(
                400,
                "Bad Request: query is too old and response timeout expired or query ID is invalid",
            )
        self._open_callbacks.discard(query_id)
        self.callback_answers[query_id] = {
            "text": params.text("text"),
            "show_alert": params.flag("show_alert"),
        }
        return True

    async def _set_my_commands(self, params: Params) -> bool:
        commands = params.obj("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise ApiError(400, "Bad Request: commands must be a list of at most 100 commands")
        for command in commands:
            if not _BOT_COMMAND.match(str(command.get("command", ""))):
                raise ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description", ""))) <= 256:
                raise ApiError(400, "Bad Request: command description is invalid")
        self.commands = [
            {"command": c["command"], "description": c["description"]} for c in commands
        ]
        return True

    async def _get_my_commands(self, params: Params) -> list[dict[str, str]]:
        return self.commands

    async def _delete_my_commands(self, params: Params) -> bool:
        self.commands = []
        return True
