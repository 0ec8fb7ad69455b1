"""Events as notifications: what people are told about a fill, a trade, a rejection, a stale
feed, and the on/silent/off settings; the messaging sections' validation and secrets."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from pydantic import ValidationError

from tests.notify.conftest import T0, entry_fill, exit_fill, rejected
from trading_bot.core.clock import SimulatedClock
from trading_bot.core.events import (
    Event,
    FeedRestored,
    FeedStale,
    HandlerFailed,
    OrderFilled,
    PositionClosed,
    RiskLimitHit,
    TradingPaused,
)
from trading_bot.core.hub import EventHub
from trading_bot.core.model import Direction, Trade
from trading_bot.notify import messages
from trading_bot.notify.messages import (
    Deferred,
    Delivery,
    Field,
    Kind,
    Notification,
    Outcome,
    Pending,
)
from trading_bot.notify.outbox import Outbox
from trading_bot.notify.telegram_config import TelegramSettings
from trading_bot.notify.telegram_text import render
from trading_bot.portfolio.manager import PortfolioManager

TOKEN = "123456789:AAsecretTokenValue_0123456789"


def told(events: list[Event], deliveries: dict[Kind, Delivery] | None = None) -> list[Notification]:
    """What a notifier on a hub with the real portfolio would send for the events."""
    hub = EventHub()
    PortfolioManager(hub, SimulatedClock(T0), 10_000.0, 60_000)
    outbox = Outbox(1000, "test", deliveries or {})
    messages.subscribe(hub, outbox.put, lambda: T0 + 999, deliveries or {})
    for event in events:
        hub.publish(event)
    return outbox.peek(1000)


def test_an_entry_and_its_exit_are_told_once_each_with_the_pnl() -> None:
    entry, exit_ = told([entry_fill(1, "0.5", "100"), exit_fill(2, "0.5", "110")])
    assert entry.kind is Kind.ENTRY and entry.title == "Entry filled: BTC/USDT"
    assert entry.fields[:3] == (
        Field("Side", "BUY"),
        Field("Quantity", "0.5"),
        Field("Price", "100"),
    )
    assert entry.lines == ("signal 1",)
    assert exit_.kind is Kind.EXIT and exit_.title == "Exit BTC/USDT: take_profit"
    assert exit_.outcome is Outcome.GOOD
    fields = {f.name: f.value for f in exit_.fields}
    # 0.5 * (110 - 100) less 0.05 entry fee and 0.05 exit fee, on a cost of 50
    assert fields["PnL"] == "+4.90 (+9.80%)"
    assert fields["Entry"] == "100" and fields["Exit"] == "110" and fields["Side"] == "LONG"


def test_a_losing_exit_is_bad_news() -> None:
    _, exit_ = told([entry_fill(1, "1", "100"), exit_fill(2, "1", "90")])
    assert exit_.outcome is Outcome.BAD
    assert {f.name: f.value for f in exit_.fields}["PnL"] == "-10.10 (-10.10%)"


def test_alerts_carry_their_reason() -> None:
    failure = HandlerFailed("Strategy.on_candle", OrderFilled.type, "ValueError: bad")
    notes = told(
        [
            rejected(7),
            RiskLimitHit("max_daily_loss", "lost 5.2% today", T0, until=T0 + 3_600_000),
            TradingPaused("paused from Telegram", T0),
            FeedStale("binance BTC/USDT", "reconnecting", T0),
            FeedRestored("binance BTC/USDT", T0 + 5),
            failure,
        ]
    )
    assert [(n.kind, n.title, n.outcome) for n in notes] == [
        (Kind.REJECTED, "Rejected: SYM7/USDT", Outcome.BAD),
        (Kind.RISK, "Risk limit hit: max_daily_loss", Outcome.BAD),
        (Kind.TRADING, "Trading paused", Outcome.BAD),
        (Kind.FEED, "Feed stale: binance BTC/USDT", Outcome.BAD),
        (Kind.FEED, "Feed restored: binance BTC/USDT", Outcome.GOOD),
        (Kind.ERROR, "Error (isolated; trading goes on)", Outcome.BAD),
    ]
    assert notes[0].lines == ("reason number 7",)
    assert notes[1].fields == (Field("Until", "2023-11-14T23:13:20Z"),)
    assert notes[3].lines == ("reconnecting",)
    assert notes[5].lines == ("ValueError: bad",) and notes[5].time == T0 + 999


def test_kinds_switched_off_are_not_even_subscribed_and_silent_ones_are_marked() -> None:
    hub = EventHub()
    pending: list[Pending] = []
    deliveries = {Kind.REJECTED: Delivery.OFF, Kind.FEED: Delivery.SILENT}
    messages.subscribe(hub, pending.append, lambda: T0, deliveries)
    hub.publish(rejected(1))
    hub.publish(FeedStale("feed", "polling", T0))
    assert len(pending) == 1 and isinstance(pending[0], Deferred)
    outbox = Outbox(10, "test", deliveries)
    outbox.put(pending[0])
    outbox.put(messages.heartbeat(T0))  # silent by default
    outbox.put(messages.order_rejected(rejected(2)))  # off: never queued
    assert [(n.kind, n.silent) for n in outbox.peek(10)] == [
        (Kind.FEED, True),
        (Kind.HEARTBEAT, True),
    ]


def test_a_full_outbox_drops_new_notifications_and_counts_them() -> None:
    outbox = Outbox(2, "test", {})
    for n in range(5):
        outbox.put(messages.order_rejected(rejected(n)))
    assert len(outbox) == 2 and outbox.dropped == 3
    assert [n.lines for n in outbox.peek(5)] == [("reason number 0",), ("reason number 1",)]
    outbox.done(1)
    assert [n.lines for n in outbox.peek(5)] == [("reason number 1",)]


def test_telegram_text_escapes_html_and_reads_as_a_table() -> None:
    trade = Trade(
        "BTC/USDT",
        Direction.LONG,
        T0,
        T0 + 1,
        Decimal(100),
        Decimal(110),
        Decimal("0.5"),
        Decimal("4.9"),
        Decimal("0.1"),
        "tp <1> & more",
        "signal",
    )
    lines = render(messages.position_closed(PositionClosed(trade))).splitlines()
    assert lines[0] == "🟢 <b>Exit BTC/USDT: tp &lt;1&gt; &amp; more</b>"
    assert "<b>PnL:</b> +4.90 (+9.80%)" in lines


def test_telegram_settings_need_a_token_and_a_chat_and_keep_the_token_secret(
    tmp_path: Path,
) -> None:
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + "\n")
    settings = TelegramSettings(enabled=True, bot_token_file=str(token_file), chat_ids=(1, -2))
    assert settings.bot_token is not None and settings.bot_token.get_secret_value() == TOKEN
    assert TOKEN not in repr(settings) and settings.notify_chats == (1, -2)
    assert TelegramSettings(chat_ids=(1,), notify_chat_ids=(3,)).notify_chats == (3,)
    with pytest.raises(ValueError, match="no bot token"):
        TelegramSettings(enabled=True, chat_ids=(1,))
    with pytest.raises(ValueError, match="no chat is allowed"):
        TelegramSettings(enabled=True, bot_token=TOKEN)
    with pytest.raises(ValidationError, match="not a bot token") as bad:
        TelegramSettings(bot_token="oops-secret")
    # the configuration loader shows a keyed error's ctx value: a secret's is never given
    assert bad.value.errors()[0]["ctx"] == {"key": "bot_token"}
    with pytest.raises(ValueError, match="notifications"):
        TelegramSettings(notifications={"entries": "on"})
    with pytest.raises(ValueError, match="notifications"):
        TelegramSettings(notifications={"entry": "loud"})


def test_a_notification_that_cannot_be_written_is_skipped_not_fatal() -> None:
    def broken(event: Event) -> Notification:
        raise KeyError("a field the builder expected")

    outbox = Outbox(10, "test", {})
    outbox.put(Deferred(broken, rejected(1)))
    outbox.put(Deferred(messages.order_rejected, rejected(2)))
    assert [n.lines for n in outbox.peek(10)] == [("reason number 2",)]
    assert len(outbox) == 1
