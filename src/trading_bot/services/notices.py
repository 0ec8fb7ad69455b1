"""What people are told about news and price alerts, as venue-neutral notifications that
Telegram and Discord render their own way (see `trading_bot.notify.messages`)."""

from __future__ import annotations

from trading_bot.core.clock import ms_to_iso
from trading_bot.notify.messages import Field, Kind, Notification, Outcome
from trading_bot.services.news import NewsItem
from trading_bot.services.scanner import PriceAlert

# Placeholders until `Kind` gains NEWS and ALERT (notify/messages.py is not ours): deliveries
# are configured per kind, so these share the switches of feed and risk notices meanwhile.
NEWS_KIND = Kind.NEWS
ALERT_KIND = Kind.ALERT
SUMMARY_CHARS = 300


def news_item(item: NewsItem, time: int) -> Notification:
    summary = item.summary
    if len(summary) > SUMMARY_CHARS:
        summary = summary[: SUMMARY_CHARS - 1].rstrip() + "…"
    lines = tuple(line for line in (summary, item.link) if line)
    fields = [Field("Source", item.source), Field("Concerns", ", ".join(item.symbols))]
    if item.published is not None:
        fields.append(Field("Published", ms_to_iso(item.published)))
    return Notification(
        NEWS_KIND, f"News: {item.title}", time, Outcome.NEUTRAL, lines, tuple(fields)
    )


def price_alert(alert: PriceAlert) -> Notification:
    fields = (
        Field("Measure", alert.metric),
        Field("Value", f"{alert.value:,.2f}"),
        Field("Threshold", f"{alert.threshold:,.2f}"),
    )
    return Notification(
        ALERT_KIND,
        f"Price alert: {alert.symbol}",
        alert.time,
        Outcome.NEUTRAL,
        (alert.detail,),
        fields,
    )
