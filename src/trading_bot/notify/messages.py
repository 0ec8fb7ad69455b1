"""What people are told: the events they care about as venue-neutral notifications.

Telegram and Discord render the same `Notification` their own way (a text message, an embed), so
what is said about a fill or a stale feed is decided once, here. Each kind is delivered on,
silently (no sound on the phone) or not at all, per messaging service (`deliveries`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from enum import StrEnum
from typing import Any

from trading_bot.core.clock import ms_to_iso
from trading_bot.core.events import (
    Event,
    FeedRestored,
    FeedStale,
    HandlerFailed,
    OrderFilled,
    OrderRejected,
    PositionClosed,
    RiskLimitHit,
    TradingPaused,
    TradingResumed,
)
from trading_bot.core.hub import EventHub, Priority
from trading_bot.core.model import ZERO, OrderRole


class Kind(StrEnum):
    """What a notification is about: the unit people switch on, silence or off."""

    ENTRY = "entry"  # a position opened or grew
    EXIT = "exit"  # a position closed (in part or fully), with its PnL
    REJECTED = "rejected"  # an order or signal refused, with the reason
    RISK = "risk"  # a risk limit hit
    TRADING = "trading"  # trading paused or resumed
    FEED = "feed"  # a market feed went stale or came back
    ERROR = "error"  # a component failed and was isolated
    LIFECYCLE = "lifecycle"  # the bot started or stopped
    HEARTBEAT = "heartbeat"  # the bot is alive
    NEWS = "news"  # news about the traded instruments
    ALERT = "alert"  # a price alert from the watchlist scan
    UNIVERSE = "universe"  # the dynamic universe changed the traded symbols


class Delivery(StrEnum):
    ON = "on"
    SILENT = "silent"  # delivered without a sound or a push alert where the service allows
    OFF = "off"


class Outcome(StrEnum):
    """Good or bad news, or neither: the colour of an embed, the mark of a message."""

    GOOD = "good"
    BAD = "bad"
    NEUTRAL = "neutral"


# A heartbeat every few minutes must not ring a phone; everything else is worth a sound.
DEFAULT_DELIVERY: Mapping[Kind, Delivery] = {
    **{kind: Delivery.ON for kind in Kind},
    Kind.HEARTBEAT: Delivery.SILENT,
    Kind.NEWS: Delivery.SILENT,
}


@dataclass(frozen=True, slots=True)
class Field:
    name: str
    value: str
    inline: bool = True


@dataclass(frozen=True, slots=True)
class Notification:
    """One thing to tell people. `time` is epoch ms on the bot's clock; `lines` are free text
    under the title, `fields` short labelled values (a table on a phone, embed fields)."""

    kind: Kind
    title: str
    time: int
    outcome: Outcome = Outcome.NEUTRAL
    lines: tuple[str, ...] = ()
    fields: tuple[Field, ...] = ()
    silent: bool = False


def deliver_as(
    notification: Notification, deliveries: Mapping[Kind, Delivery]
) -> Notification | None:
    """The notification as the settings want it delivered: None when its kind is off."""
    delivery = deliveries.get(notification.kind, DEFAULT_DELIVERY[notification.kind])
    if delivery is Delivery.OFF:
        return None
    if delivery is Delivery.SILENT and not notification.silent:
        return replace(notification, silent=True)
    return notification


def _amount(value: Decimal) -> str:
    """A decimal as a person reads it: no exponent, no trailing zeros."""
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "") else text


def _signed(value: Decimal) -> str:
    return f"{value:+,.2f}"


def entry_filled(event: OrderFilled) -> Notification | None:
    """An entry fill. Exit fills are told by `position_closed`, which knows their PnL."""
    f = event.fill
    if f.role is not OrderRole.ENTRY:
        return None
    fields = (
        Field("Side", f.side.value.upper()),
        Field("Quantity", _amount(f.qty)),
        Field("Price", _amount(f.price)),
        Field("Fee", _amount(f.fee)),
    )
    return Notification(
        Kind.ENTRY,
        f"Entry filled: {f.symbol}",
        f.time,
        Outcome.NEUTRAL,
        lines=(f.reason,) if f.reason else (),
        fields=fields,
    )


def position_closed(event: PositionClosed) -> Notification:
    t = event.trade
    outcome = Outcome.GOOD if t.pnl > ZERO else Outcome.BAD if t.pnl < ZERO else Outcome.NEUTRAL
    cost = t.entry_price * t.qty
    pnl_pct = f" ({t.pnl / cost * 100:+.2f}%)" if cost > ZERO else ""
    fields = (
        Field("Side", t.side.value.upper()),
        Field("Quantity", _amount(t.qty)),
        Field("Entry", _amount(t.entry_price)),
        Field("Exit", _amount(t.exit_price)),
        Field("PnL", _signed(t.pnl) + pnl_pct),
        Field("Fees", _amount(t.fees)),
    )
    return Notification(
        Kind.EXIT,
        f"Exit {t.symbol}: {t.exit_reason}",
        t.exit_time,
        outcome,
        lines=(f"Opened {ms_to_iso(t.entry_time)}: {t.entry_reason}",) if t.entry_reason else (),
        fields=fields,
    )


def order_rejected(event: OrderRejected) -> Notification:
    fields = (Field("Order", event.client_order_id, inline=False),) if event.client_order_id else ()
    return Notification(
        Kind.REJECTED,
        f"Rejected: {event.symbol}",
        event.time,
        Outcome.BAD,
        lines=(event.reason,),
        fields=fields,
    )


def risk_limit_hit(event: RiskLimitHit) -> Notification:
    fields = (Field("Until", ms_to_iso(event.until)),) if event.until is not None else ()
    return Notification(
        Kind.RISK,
        f"Risk limit hit: {event.limit}",
        event.time,
        Outcome.BAD,
        lines=(event.detail,),
        fields=fields,
    )


def trading_paused(event: TradingPaused) -> Notification:
    return Notification(
        Kind.TRADING, "Trading paused", event.time, Outcome.BAD, lines=(event.reason,)
    )


def trading_resumed(event: TradingResumed) -> Notification:
    return Notification(Kind.TRADING, "Trading resumed", event.time, Outcome.GOOD)


def feed_stale(event: FeedStale) -> Notification:
    return Notification(
        Kind.FEED, f"Feed stale: {event.source}", event.time, Outcome.BAD, lines=(event.detail,)
    )


def feed_restored(event: FeedRestored) -> Notification:
    return Notification(Kind.FEED, f"Feed restored: {event.source}", event.time, Outcome.GOOD)


def handler_failed(event: HandlerFailed, time: int) -> Notification:
    return Notification(
        Kind.ERROR,
        "Error (isolated; trading goes on)",
        time,
        Outcome.BAD,
        lines=(event.error,),
        fields=(Field("Component", event.handler), Field("While handling", event.event_type)),
    )


def started(time: int, mode: str, detail: str = "") -> Notification:
    """The app's own notice that it runs (`mode`: backtest, paper, live)."""
    return Notification(
        Kind.LIFECYCLE,
        f"Bot started ({mode})",
        time,
        Outcome.GOOD,
        lines=(detail,) if detail else (),
    )


def stopped(time: int, reason: str) -> Notification:
    return Notification(Kind.LIFECYCLE, "Bot stopped", time, Outcome.NEUTRAL, lines=(reason,))


def universe_changed(
    time: int, added: Sequence[str], dropped: Sequence[str], kept: Sequence[str]
) -> Notification:
    """The ranking changed what is traded; `kept`: left the ranking, still open, managed."""
    named = (("Added", added), ("Dropped", dropped), ("Kept while open", kept))
    shown = tuple(Field(name, ", ".join(symbols)) for name, symbols in named if symbols)
    return Notification(Kind.UNIVERSE, "Universe changed", time, Outcome.NEUTRAL, fields=shown)


def heartbeat(time: int, fields: Mapping[str, str] | None = None) -> Notification:
    """The app's periodic sign of life; `fields` carry what it wants shown (equity, positions)."""
    shown = tuple(Field(name, value) for name, value in (fields or {}).items())
    return Notification(Kind.HEARTBEAT, "Heartbeat", time, Outcome.NEUTRAL, fields=shown)


class Deferred:
    """An event to tell people about, turned into its notification later, by the task that sends
    it: formatting numbers and times costs microseconds the trading path must not spend."""

    __slots__ = ("_build", "_built", "_event", "_notification")

    def __init__(self, build: Callable[[Any], Notification | None], event: Event) -> None:
        self._build = build
        self._event = event
        self._notification: Notification | None = None
        self._built = False

    def __call__(self) -> Notification | None:
        if not self._built:  # one event may be queued for several chats: built once
            self._notification = self._build(self._event)
            self._built = True
        return self._notification


Pending = Notification | Deferred
Sink = Callable[[Pending], None]

# What people are told about, by event type; a kind that is off is not even subscribed.
SOURCES: tuple[tuple[type[Event], Kind, Callable[[Any], Notification | None]], ...] = (
    (OrderFilled, Kind.ENTRY, entry_filled),
    (PositionClosed, Kind.EXIT, position_closed),
    (OrderRejected, Kind.REJECTED, order_rejected),
    (RiskLimitHit, Kind.RISK, risk_limit_hit),
    (TradingPaused, Kind.TRADING, trading_paused),
    (TradingResumed, Kind.TRADING, trading_resumed),
    (FeedStale, Kind.FEED, feed_stale),
    (FeedRestored, Kind.FEED, feed_restored),
)


def subscribe(
    hub: EventHub, sink: Sink, now_ms: Callable[[], int], deliveries: Mapping[Kind, Delivery]
) -> None:
    """Queue every event people care about (and want, by `deliveries`) on `sink`, at
    Priority.NOTIFY, as a `Deferred` notification.

    `sink` runs inside the hub's dispatch: it must only queue. `now_ms` stamps events that
    carry no time of their own (a handler failure)."""

    def wanted(kind: Kind) -> bool:
        return deliveries.get(kind, DEFAULT_DELIVERY[kind]) is not Delivery.OFF

    def queue(build: Callable[[Any], Notification | None]) -> Callable[[Any], None]:
        def handler(event: Event) -> None:
            sink(Deferred(build, event))

        handler.__qualname__ = f"notify.{build.__name__}"
        return handler

    for event_type, kind, build in SOURCES:
        if wanted(kind):
            hub.subscribe(event_type, queue(build), Priority.NOTIFY)

    def failed(event: HandlerFailed) -> None:
        time = now_ms()
        sink(Deferred(lambda e: handler_failed(e, time), event))

    if wanted(Kind.ERROR):
        hub.subscribe(HandlerFailed, failed, Priority.NOTIFY)
