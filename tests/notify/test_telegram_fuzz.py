"""Hostile Telegram updates (hypothesis), pushed through the fake Telegram to a running bot.

Updates of the Bot API's shape with odd values: strangers' chats, huge, unicode and
control-character text, commands with junk arguments, /close of unknown symbols, forged and
garbled callback data, real Yes buttons pressed by someone else, messages without text or
sender, kinds the bot does not ask for; and malformed ones (a field missing or of the wrong
type). Each example ends with the owner's `/close probe<n>`, whose question must come: the bot
still answers. An update Telegram could send never makes a handler fail; a malformed one may,
but it is dropped, logged and counted, never raised into python-telegram-bot. Over the whole
run nobody but the owner was sent anything, every button press was refused, no exit was asked
and the bot still runs.

Hypothesis runs in a worker thread (it is synchronous); each example is played on the bot's
loop, one bot and one fake for the whole run."""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.notify.telegram_app import OWNER, Controlled, controlled
from trading_bot.logs import flush_logs
from trading_bot.notify.telegram_bot import FAILED, NO_COMMAND, UNKNOWN_CONFIRMATION
from trading_bot.notify.telegram_intake import UNREADABLE
from trading_bot.testing.fake_telegram import FakeTelegram
from trading_bot.testing.telegram_shapes import BOT_USER, Chat, user_json

EXAMPLES = 60
NOT_YOURS = "This confirmation is not yours, or it has expired."
REAL_YES = "\0real yes"  # stands for the Yes button of the owner's latest question
T = 1_700_000_000


@dataclass(frozen=True)
class Hostile:
    """One update: `said` (chat, user, text) as a user types it, else `content` pushed raw."""

    well_formed: bool
    said: tuple[int, int, str] | None = None
    content: dict[str, Any] | None = None


# -- the updates -----------------------------------------------------------------------------

ids = st.integers(-(2**52), 2**52)
others = ids.filter(lambda i: i != OWNER)
ARGS = [
    "-1",
    "0",
    "nan",
    "NaN",
    "inf",
    "-Infinity",
    "1e309",
    "9" * 30,
    "0x1f",
    "١٢",
    "SYN/USD",
    "syn-usd",
    "NOPE/XYZ",
    "<b>",
    "&amp;",
    "'; DROP TABLE orders;--",
    "../../etc/passwd",
]
NAMES = [
    "status",
    "balance",
    "positions",
    "trades",
    "profit",
    "daily",
    "performance",
    "health",
    "logs",
    "version",
    "help",
    "start",
    "pause",
    "resume",
    "close",
    "closeall",
    "stop",
    "reload_config",
    "nope",
    "CloseAll",
]
words = st.sampled_from(ARGS) | st.text(  # no lone surrogates: JSON from Telegram is UTF-8
    st.characters(exclude_categories=("Zs", "Zl", "Zp", "Cc", "Cs")), min_size=1, max_size=24
)
commands = st.builds(
    lambda name, to, args: " ".join([f"/{name}{to}", *args]),
    st.sampled_from(NAMES),
    st.sampled_from(["", "@fake_trading_bot", "@other_bot"]),
    st.lists(words, max_size=3),
)
texts = (
    commands
    | st.text(max_size=40)  # any unicode, control characters too
    | st.builds(lambda c, n: c * n, st.characters(), st.integers(1000, 4096))
)
said = st.builds(lambda t: Hostile(True, said=(OWNER, OWNER, t)), texts) | st.builds(
    lambda chat, user, t: Hostile(True, said=(chat, user, t)), others, ids, texts
)


def message(chat_id: int, user_id: int | None, **fields: Any) -> dict[str, Any]:
    sender = {} if user_id is None else {"from": user_json(user_id)}
    return {"message_id": 7, **sender, "chat": Chat(chat_id).json(), "date": T, **fields}


def command_entity(text: str) -> dict[str, Any]:
    return {"type": "bot_command", "offset": 0, "length": len(text.split()[0])}


KINDS: list[dict[str, Any]] = [  # what a message can be besides text
    {
        "photo": [{"file_id": "p", "file_unique_id": "u", "width": 90, "height": 90}],
        "caption": "/closeall",
    },
    {"location": {"latitude": 51.5, "longitude": -0.1}},
    {"new_chat_members": [user_json(7)]},
    {"text": "/closeall", "entities": [command_entity("/closeall")], "edit_date": T + 1},
    {"text": "/status", "entities": [{"type": "bot_command", "offset": 3, "length": 99}]},
    {"text": "/status", "reply_to_message": message(OWNER, OWNER, text="hi")},
]
chats = st.sampled_from([OWNER]) | others
messages = st.builds(
    lambda chat, kind: {"message": message(chat, chat, **kind)}, chats, st.sampled_from(KINDS)
) | st.builds(  # no sender: an anonymous group admin, a channel's post in its group
    lambda chat: {
        "message": message(
            chat,
            None,
            sender_chat=Chat(-100).json(),
            text="/closeall",
            entities=[command_entity("/closeall")],
        )
    },
    chats,
)
unasked = st.builds(  # kinds the bot does not ask for: Telegram keeps them back
    lambda kind, chat: {kind: message(chat, chat, text="/closeall")},
    st.sampled_from(["edited_message", "channel_post", "business_message"]),
    chats,
) | st.just({"inline_query": {"id": "1", "from": user_json(1), "query": "x", "offset": ""}})


def callback(user_id: int, chat_id: int | None, data: str | None) -> dict[str, Any]:
    query: dict[str, Any] = {
        "id": "set when pushed",
        "from": user_json(user_id),
        "chat_instance": "1",
    }
    if chat_id is None:
        query["inline_message_id"] = "AAAAAAAAAAAA"
    else:
        query["message"] = {
            "message_id": 1,
            "from": BOT_USER,
            "chat": Chat(chat_id).json(),
            "date": T,
            "text": "Close all 1 position(s) at market?",
        }
    if data is not None:
        query["data"] = data
    return {"callback_query": query}


datas = (
    st.just(REAL_YES)
    | st.text(max_size=64)
    | st.sampled_from(["yes:", "no:", "yes", ":", "yes:" + "A" * 16])
    | st.none()  # a game button has no data
)
callbacks = st.builds(callback, ids, st.none() | chats, datas).filter(
    lambda c: not (  # the owner pressing the owner's real Yes is no forgery
        c["callback_query"].get("data") == REAL_YES
        and c["callback_query"]["from"]["id"] == OWNER
        and c["callback_query"].get("message", {}).get("chat", {}).get("id") == OWNER
    )
)
raw = messages | unasked | callbacks
scalars = st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.floats()
json_values = st.recursive(
    scalars | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=8,
)


@st.composite
def malformed(draw: st.DrawFn) -> Hostile:
    """A field missing, or of any other type."""
    content = draw(messages | callbacks)
    [(kind, inner)] = content.items()
    key = draw(st.sampled_from(sorted(inner)))
    changed = {k: v for k, v in inner.items() if k != key}
    if draw(st.booleans()):
        changed[key] = draw(json_values)
    return Hostile(False, content={kind: changed})


hostile = said | raw.map(lambda c: Hostile(True, content=c)) | malformed()

# explicit examples first: one of each way an update is dropped
STRANGER_PRESSES_REAL_YES = Hostile(True, content=callback(666, OWNER, REAL_YES))
TEXT_OF_WRONG_TYPE = Hostile(
    False, content={"message": message(OWNER, OWNER, text=12, entities=[command_entity("/x")])}
)
NOT_A_MESSAGE = Hostile(False, content={"message": "not a message"})


# -- playing them ----------------------------------------------------------------------------


class Player:
    def __init__(self, run: Controlled) -> None:
        self.run = run
        self.probes = itertools.count(1)
        self.query_ids = itertools.count(1)

    async def play(self, updates: list[Hostile]) -> None:
        run, fake = self.run, self.run.fake
        before = Counter(run.bot.dropped)
        for update in updates:
            if update.said is not None:
                fake.send_text(*update.said)
            else:
                assert update.content is not None
                fake.push_update(self._resolved(update.content))
        probe = next(self.probes)
        seen = len(fake.sent(OWNER))
        fake.send_text(OWNER, OWNER, f"/close probe{probe}")
        await run.said(OWNER, f"Close probe{probe} at market?", since=seen)
        if all(u.well_formed for u in updates):
            for reason in (FAILED, UNREADABLE):
                assert run.bot.dropped[reason] == before[reason], (reason, updates)

    def _resolved(self, content: dict[str, Any]) -> dict[str, Any]:
        """A fresh query id for a callback (Telegram's are unique), and the real Yes data."""
        query = content.get("callback_query")
        if not isinstance(query, dict) or "id" not in query:
            return content
        query = {**query, "id": f"fuzz-{next(self.query_ids)}"}
        if query.get("data") == REAL_YES:
            query["data"] = self._latest_yes()
        return {"callback_query": query}

    def _latest_yes(self) -> str:
        for sent in reversed(self.run.fake.sent(OWNER)):
            for button in sent.buttons():
                if button["text"] == "Yes":
                    return str(button["callback_data"])
        return "yes:none-asked-yet"


def fuzz(player: Player, loop: asyncio.AbstractEventLoop) -> None:
    @given(st.lists(hostile, min_size=1, max_size=4))
    @example([STRANGER_PRESSES_REAL_YES])
    @example([TEXT_OF_WRONG_TYPE])
    @example([NOT_A_MESSAGE])  # python-telegram-bot alone would fail every poll from then on
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def check(updates: list[Hostile]) -> None:
        asyncio.run_coroutine_threadsafe(player.play(updates), loop).result(timeout=30)

    check()


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def ptb_warnings() -> Iterator[list[logging.LogRecord]]:
    """What python-telegram-bot itself logs at WARNING or above (an exception that reached it)."""
    handler = _Records()
    logger = logging.getLogger("telegram")
    logger.addHandler(handler)
    yield handler.records
    logger.removeHandler(handler)


async def test_hostile_updates_never_reach_data_or_trades_and_the_bot_answers(
    tmp_path: Path, restore_logging: None, ptb_warnings: list[logging.LogRecord]
) -> None:
    async with FakeTelegram() as fake, controlled(tmp_path, fake, 300, 0) as run:
        await run.until(lambda: run.feed_ended and run.holding())  # nothing moves by itself now
        player = Player(run)
        await player.play([])  # a first question, whose Yes the first forgeries press
        await asyncio.to_thread(fuzz, player, asyncio.get_running_loop())

        assert not run.task.done() and run.commanded == [] and run.holding()
        assert {int(c.params["chat_id"]) for c in fake.calls_of("sendMessage")} == {OWNER}
        assert fake.calls_of("editMessageText") == []  # nothing confirmed, nothing cancelled
        assert {a["text"] for a in fake.callback_answers.values()} == {NOT_YOURS}
        dropped = run.bot.dropped
        assert dropped[UNREADABLE] and dropped[FAILED] and dropped[UNKNOWN_CONFIRMATION]
        assert dropped[NO_COMMAND] and run.bot.refused
    assert [r.getMessage() for r in ptb_warnings] == []
    flush_logs()
    logged = [json.loads(line) for line in (tmp_path / "logs" / "bot.jsonl").open()]
    reasons = {r.get("reason") for r in logged if r["event"] == "telegram update dropped"}
    assert {UNREADABLE, UNKNOWN_CONFIRMATION} <= reasons
    assert any(r["event"] == "telegram update failed" for r in logged)


async def test_an_unreadable_update_alone_is_confirmed_dropped_once_and_shown_by_health(
    tmp_path: Path, restore_logging: None
) -> None:
    async with FakeTelegram() as fake, controlled(tmp_path, fake, 300, 0) as run:
        update_id = fake.push_update({"message": ["not", "a", "message"]})
        await fake.wait_for(  # a later poll confirms it, so it never comes back
            lambda: any(
                int(c.params.get("offset", 0)) > update_id for c in fake.calls_of("getUpdates")
            )
        )
        fake.send_text(OWNER, OWNER, "/health")
        health = await run.said(OWNER, "Telegram")
        assert "dropped updates: unreadable 1" in health.text
        assert run.bot.dropped == Counter({UNREADABLE: 1})
