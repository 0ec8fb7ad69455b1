"""The control service's answers as Telegram HTML: short lines and small aligned tables in
`<pre>` blocks, which read well at phone width (about 32 monospace characters)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from html import escape

from trading_bot.control import (
    Balance,
    DayPnl,
    Health,
    PositionView,
    Profit,
    ReasonPerformance,
    Status,
)
from trading_bot.core.clock import ms_to_iso
from trading_bot.core.model import Trade
from trading_bot.services.scheduler import TaskInfo

HELP = """<b>Views</b>
/status mode, equity, positions, feed
/balance cash, equity, PnL, fees
/positions open positions
/trades [n] the last n trades (5)
/profit realized PnL, win rate
/daily [n] PnL of the last n days (7)
/performance PnL by entry reason
/health problems, if any
/logs [n] the last n log lines (10)
/version

<b>Controls</b>
/pause no new entries (exits go on)
/resume new entries again
/close &lt;symbol or order id&gt; close at market
/closeall close every position
/reload_config re-read the configuration
/stop stop the bot"""


def table(rows: Sequence[Sequence[str]], right: Sequence[bool] | None = None) -> str:
    """Rows as an aligned monospace block; `right` aligns columns to the right."""
    if not rows:
        return ""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    align = right or [False] * len(widths)
    lines = [
        " ".join(
            cell.rjust(w) if r else cell.ljust(w)
            for cell, w, r in zip(row, widths, align, strict=True)
        ).rstrip()
        for row in rows
    ]
    return "<pre>" + escape("\n".join(lines)) + "</pre>"


def money(value: float) -> str:
    return f"{value:,.2f}"


def signed(value: float) -> str:
    return f"{value:+,.2f}"


def duration(seconds: float) -> str:
    minutes, _ = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    return f"{days}d {hours}h {minutes}m" if days else f"{hours}h {minutes}m"


def status(s: Status) -> str:
    state = f"⏸ PAUSED: {escape(s.pause_reason)}" if s.paused else "▶ trading"
    feed = "ok" if not s.stale_feeds else "STALE: " + escape(", ".join(s.stale_feeds))
    last = "none yet" if s.last_candle_time is None else ms_to_iso(s.last_candle_time)
    rows = [
        ("mode", s.mode.upper() + (" (SYNTHETIC data)" if s.synthetic else "")),
        ("market", f"{', '.join(s.symbols)} {s.timeframe}"),
        ("strategy", s.strategy),
        ("equity", money(s.equity)),
        ("cash", money(s.cash)),
        ("positions", str(s.open_positions)),
        ("last candle", last),
        ("up", duration(s.uptime_s)),
    ]
    return (
        f"<b>{escape(s.name)}</b> {s.version}\n{state}\nfeed {feed}\n"
        + table(rows)
        + f"\n{escape(s.venue)}"
    )


def balance(b: Balance) -> str:
    rows = [
        ("start", money(b.starting_cash)),
        ("cash", money(b.cash)),
        ("equity", money(b.equity)),
        ("realized", signed(b.realized_pnl)),
        ("fees", money(b.fees_paid)),
    ]
    return "<b>Balance</b>\n" + table(rows, right=[False, True])


def positions(views: Sequence[PositionView]) -> str:
    if not views:
        return "No open positions."
    rows = [("symbol", "side", "qty", "entry", "PnL")]
    rows += [
        (p.symbol, p.side, f"{p.qty.normalize():f}", f"{p.avg_price.normalize():f}",
         signed(p.unrealized_pnl))
        for p in views
    ]  # fmt: skip
    return "<b>Positions</b>\n" + table(rows, right=[False, False, True, True, True])


def trades(closed: Sequence[Trade]) -> str:
    if not closed:
        return "No closed trades yet."
    rows = [("exit (UTC)", "side", "PnL", "why")]
    rows += [
        (ms_to_iso(t.exit_time)[5:16].replace("T", " "), t.side.value, signed(float(t.pnl)),
         t.exit_reason[:14])
        for t in closed
    ]  # fmt: skip
    return f"<b>Last {len(closed)} trades</b>\n" + table(rows, right=[False, False, True, False])


def profit(p: Profit) -> str:
    if not p.trades:
        return "No closed trades yet."
    win_rate = p.win_rate or 0.0
    factor = "∞" if p.profit_factor is None else f"{p.profit_factor:.2f}"
    rows = [
        ("trades", str(p.trades)),
        ("win rate", f"{win_rate:.0%}"),
        ("realized", signed(p.realized_pnl)),
        ("fees", money(p.fees)),
        ("best", signed(p.best or 0.0)),
        ("worst", signed(p.worst or 0.0)),
        ("profit factor", factor),
        ("return", f"{p.return_pct:+.2f}%"),
    ]
    return "<b>Profit</b>\n" + table(rows, right=[False, True])


def daily(days: Sequence[DayPnl]) -> str:
    rows = [("day", "trades", "PnL")]
    rows += [(d.day, str(d.trades), signed(d.pnl)) for d in days]
    return "<b>Daily</b>\n" + table(rows, right=[False, True, True])


def performance(rows_in: Sequence[ReasonPerformance]) -> str:
    if not rows_in:
        return "No closed trades yet."
    rows = [("entry reason", "n", "win", "PnL")]
    rows += [
        (r.reason[:16], str(r.trades), f"{r.wins / r.trades:.0%}", signed(r.pnl)) for r in rows_in
    ]
    return "<b>Performance</b>\n" + table(rows, right=[False, True, True, True])


def health(h: Health) -> str:
    if h.healthy:
        age_s = h.last_candle_age_s
        age = "" if age_s is None else f"; last candle {age_s:.0f} s ago"
        return f"✅ Healthy{age}; {h.handler_failures} handler failures so far."
    return "⚠️ <b>Unhealthy</b>\n" + "\n".join(f"• {escape(p)}" for p in h.problems)


def scheduled(tasks: Sequence[TaskInfo]) -> str:
    """The periodic tasks, one line each: runs, errors, the last error."""
    if not tasks:
        return ""
    rows = [("task", "runs", "errors")]
    rows += [(t.name[:16], str(t.runs), str(t.errors)) for t in tasks]
    failing = [f"{t.name}: {escape(t.last_error)}" for t in tasks if t.errors and t.last_error]
    return (
        "\n<b>Tasks</b>\n"
        + table(rows, right=[False, True, True])
        + "".join(f"\n• {line}" for line in failing)
    )


def intake(dropped: Mapping[str, int], refused: int) -> str:
    """What the Telegram bot did not act on, when there was any: updates dropped by reason,
    and messages or button presses of people it does not obey."""
    parts = [f"{reason} {count}" for reason, count in sorted(dropped.items()) if count]
    lines = [f"dropped updates: {escape(', '.join(parts))}"] if parts else []
    if refused:
        lines.append(f"refused (not allowed): {refused}")
    return "\n<b>Telegram</b>" + "".join(f"\n• {line}" for line in lines) if lines else ""


def log_lines(lines: Sequence[str]) -> str:
    """JSON log lines shortened to time, level and event (and any error)."""
    shown = []
    for line in lines:
        try:
            record = json.loads(line)
        except ValueError:
            shown.append(line[:120])
            continue
        when = str(record.get("timestamp", ""))[11:19]
        level = str(record.get("level", ""))[:4].upper()
        event = str(record.get("event", ""))
        error = record.get("error") or record.get("reason") or ""
        shown.append(f"{when} {level} {event}" + (f": {error}" if error else ""))
    return "<pre>" + escape("\n".join(shown) or "(empty)") + "</pre>"
