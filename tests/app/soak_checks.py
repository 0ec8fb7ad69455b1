"""What a soak run must show: nothing lost, nothing doubled.

- every candle processed exactly once: the hub published `CANDLE_DATA_PROCESSED` once per
  candle, no `DATA_GAP`, and the database holds an equity mark at each candle's close;
- paper: the trades equal those of `trading-bot backtest` on the same candles with the same
  settings (sides, times, prices, quantities, exit reasons);
- live: every order the bot recorded exists at the fake exactly once with the same filled
  quantity (one the venue refused, never), every order at the fake is known to the bot, and the
  books equal the account (cash to the cent, the position up to the unsellable fee dust);
- notifications: Telegram and Discord each delivered the same notifications in the same order,
  one per entry fill, closed position, rejection, feed stale or restored, pause or resume, risk
  limit and isolated error the bot counted, plus its start, stop and heartbeats. An outbox drops
  only by design: when it is full (`max_backlog`) or when the shutdown drain times out, each
  logged; `dropped` counts those log lines, and the check fails if any appear. Neither API has an
  idempotency key: a post whose connection was cut after it arrived, before its answer came
  back, is sent again and shows twice in a row. Such repeats are counted once, and there may be
  no more of them than the sender logged answers lost that way.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypeVar

from trading_bot.core.clock import ms_to_iso
from trading_bot.core.model import OrderRole, OrderStatus, Trade
from trading_bot.data.files import save_candles
from trading_bot.storage import Database, StateStore
from trading_bot.testing.fake_binance import LOT_STEP
from trading_bot.testing.telegram_shapes import SentMessage

from .soak import CHAT, PARAMS, SECOND, STRATEGY, SoakRun

T = TypeVar("T")
MARKS = ("🟢 ", "🔴 ", "🔵 ")  # how a notification's title starts in a Telegram message
DROP_LOGS = ("notification backlog full", "notifications still pending at shutdown")
# a retry whose request may have arrived: the connection ended before the answer, or timed out
LOST_ANSWERS = {
    "telegram unreachable; retrying": ("RemoteProtocolError", "ReadError", "TimedOut"),
    "discord webhook unreachable; retrying": ("ServerDisconnected", "ClientPayload", "Timeout"),
}
# notification titles by how they start, and the event the bot counts for each
EVENT_OF_TITLE = {
    "Exit ": "POSITION_CLOSED",
    "Rejected: ": "ORDER_REJECTED",
    "Feed stale: ": "FEED_STALE",
    "Feed restored: ": "FEED_RESTORED",
    "Trading paused": "TRADING_PAUSED",
    "Trading resumed": "TRADING_RESUMED",
    "Risk limit hit: ": "RISK_LIMIT_HIT",
    "Error (isolated": "HANDLER_FAILED",
}


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


@dataclass
class Findings:
    checks: list[Check]
    figures: dict[str, Any]

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    def failures(self) -> str:
        return "\n".join(f"{c.name}: {c.detail}" for c in self.checks if not c.ok)


def check_soak(run: SoakRun) -> Findings:
    database = Database(f"sqlite:///{run.database}")
    store = StateStore(database)
    try:
        events = _events_counted(run)
        stopped = f"exit code {run.exit_code}"
        if run.exit_code != 0:
            stopped += "; its last words:\n" + run.output[-2000:]
        checks = [Check("bot stopped cleanly", run.exit_code == 0, stopped)]
        checks.append(_candles(run, store, events))
        if run.venue is None:
            checks.append(_trades_equal_backtest(run, store))
        else:
            checks += _orders_once(run, store)
            checks.append(_books_equal_account(run, store))
        notes, figures = _notifications(run, store, events)
        checks += notes
        orders = store.load_orders(open_only=False)
        figures |= {
            "candles": run.plan.candles,
            "candles processed": events.get("CANDLE_DATA_PROCESSED", 0),
            "orders": len(orders),
            "fills": len(store.load_fills()),
            "trades": store.trade_count(),
        }
        if run.venue is not None:
            figures["orders at the venue"] = len(run.venue.orders)
            figures["orders refused"] = sum(o.status is OrderStatus.REJECTED for o in orders)
    finally:
        database.close()
    return Findings(checks, figures)


def _events_counted(run: SoakRun) -> dict[str, int]:
    """The hub's event counts, from the bot's last log line ("bot stopped")."""
    for line in reversed((run.workdir / "logs" / "audit.jsonl").read_text().splitlines()):
        record = json.loads(line)
        if record.get("event") == "bot stopped":
            return dict(record["events"])
    raise AssertionError("the bot logged no 'bot stopped' line")


def _candles(run: SoakRun, store: StateStore, events: dict[str, int]) -> Check:
    expected = {int(t) // 1_000_000 + SECOND for t in run.frame.index.asi8}  # close times
    marked = {time for time, _, _ in store.load_equity()}
    published = events.get("CANDLE_DATA_PROCESSED", 0)
    gaps = events.get("DATA_GAP", 0)
    ok = published == len(expected) and marked == expected and gaps == 0
    detail = (
        f"{published} published for {len(expected)} candles, {len(marked & expected)} marked, "
        f"{len(marked - expected)} unexpected, {gaps} gaps"
    )
    return Check("every candle processed once", ok, detail)


def trade_shape(trade: Trade) -> tuple[str, str, str, float, float, float, str]:
    return (
        trade.side.value,
        ms_to_iso(trade.entry_time),
        ms_to_iso(trade.exit_time),
        float(trade.entry_price),
        float(trade.exit_price),
        float(trade.qty),
        trade.exit_reason,
    )


def _trades_equal_backtest(run: SoakRun, store: StateStore) -> Check:
    """`trading-bot backtest` on the candles, with the bot's trading settings."""
    data, result = run.workdir / "candles.csv", run.workdir / "backtest.json"
    save_candles(run.frame, data)
    command = [
        *(sys.executable, "-m", "trading_bot", "backtest", "--config"),
        *(str(run.workdir / "backtest.toml"), "--strategy", f"{STRATEGY}:BracketedCross"),
        *(arg for k, v in PARAMS.items() for arg in ("--param", f"{k}={v}")),
        *("--data", str(data), "--symbol", "BTC/USDT", "--json", str(result)),
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        return Check("trades equal the backtest", False, done.stdout[-500:] + done.stderr[-500:])
    expected = [
        (
            *(t["side"], t["entry_time"], t["exit_time"], t["entry_price"], t["exit_price"]),
            *(t["qty"], t["exit_reason"]),
        )
        for t in json.loads(result.read_text())["trades"]
        if t["exit_reason"] != "end_of_backtest"
    ]
    paper = [trade_shape(t) for t in store.load_trades()]
    first_difference = next(
        (i for i, (a, b) in enumerate(zip(paper, expected, strict=False)) if a != b),
        min(len(paper), len(expected)),
    )
    ok = paper == expected and len(paper) > 0
    detail = f"{len(paper)} paper trades, {len(expected)} in the backtest"
    if not ok:
        detail += f"; first difference at trade {first_difference}"
    return Check("trades equal the backtest", ok, detail)


def _orders_once(run: SoakRun, store: StateStore) -> list[Check]:
    venue = run.venue
    assert venue is not None
    orders = store.load_orders(open_only=False)
    problems = []
    for order in orders:
        copies = venue.orders_with_id(order.client_order_id)
        refused = order.status is OrderStatus.REJECTED
        if len(copies) != (0 if refused else 1):
            problems.append(f"{order.client_order_id}: {len(copies)} at the venue")
        elif sum((c.executed for c in copies), Decimal(0)) != order.filled_qty:
            problems.append(f"{order.client_order_id}: filled quantities differ")
    known = {o.client_order_id for o in orders}
    strangers = [o.client_order_id for o in venue.orders if o.client_order_id not in known]
    entries = sum(1 for o in orders if o.role is OrderRole.ENTRY)
    return [
        Check(
            "each order at the venue exactly once",
            not problems and entries > 0,
            f"{len(orders)} orders ({entries} entries); " + ("; ".join(problems[:5]) or "ok"),
        ),
        Check(
            "every venue order known to the bot",
            not strangers,
            f"{len(venue.orders)} at the venue; unknown: {strangers[:5] or 'none'}",
        ),
    ]


def _books_equal_account(run: SoakRun, store: StateStore) -> Check:
    venue = run.venue
    assert venue is not None

    def total(asset: str) -> Decimal:
        return venue.free(asset) + venue.locked.get(asset, Decimal(0))

    state = store.get_state("portfolio") or {}
    cash = Decimal(state.get("cash", "NaN"))
    position = {p.symbol: p.qty for p in store.load_positions()}.get("BTC/USDT", Decimal(0))
    dust = total("BTC") - position
    buys = sum(1 for o in venue.orders if o.side == "BUY" and o.executed)
    ok = cash == total("USDT") and Decimal(0) <= dust < LOT_STEP * max(buys, 1)
    detail = (
        f"cash {cash} vs USDT {total('USDT')}; position {position} vs BTC {total('BTC')} "
        f"(dust {dust} after {buys} buys)"
    )
    return Check("books equal the account", ok, detail)


def telegram_titles(messages: list[SentMessage]) -> list[str]:
    """The notifications' titles in the messages, in order (a message may merge several)."""
    return [
        line[len(mark) :]
        for message in messages
        for line in message.text.splitlines()
        for mark in MARKS
        if line.startswith(mark)
    ]


def _notifications(
    run: SoakRun, store: StateStore, events: dict[str, int]
) -> tuple[list[Check], dict[str, Any]]:
    messages, telegram_resent = without_resends(run.telegram.sent(CHAT), lambda m: m.text)
    telegram = telegram_titles(messages)
    posts, discord_resent = without_resends(run.discord.posts, repr)
    discord = [embed["title"] for post in posts for embed in post.get("embeds") or []]
    entries = sum(1 for f in store.load_fills() if f.role is OrderRole.ENTRY)
    mode = run.plan.mode
    expected = Counter(
        {
            "Entry filled: ": entries,
            f"Bot started ({mode})": 1,
            "Bot stopped": 1,
            **{prefix: events.get(event, 0) for prefix, event in EVENT_OF_TITLE.items()},
        }
    )
    expected = +expected  # kinds that never happened are left out

    def kinds(titles: list[str]) -> Counter[str]:
        return Counter(next((p for p in expected if t.startswith(p)), t) for t in titles)

    telegram_kinds = kinds(telegram)
    heartbeats = telegram_kinds.pop("Heartbeat", 0)
    log = (run.workdir / "logs" / "bot.jsonl").read_text()
    dropped = sum(log.count(text) for text in DROP_LOGS)
    lost = answers_lost(log)
    figures = {
        "notifications expected": sum(expected.values()) + heartbeats,
        "telegram delivered": len(telegram),
        "discord delivered": len(discord),
        "heartbeats": heartbeats,
        "dropped (logged)": dropped,
    }
    checks = [
        Check(
            "telegram delivered every notification",
            telegram_kinds == expected,
            _difference(telegram_kinds, expected) + f", and {heartbeats} heartbeats",
        ),
        Check(
            "discord delivered the same, in the same order",
            discord == telegram,
            f"{len(discord)} embeds, {len(telegram)} in Telegram messages",
        ),
        Check("no notification dropped", dropped == 0, f"{dropped} drop warnings logged"),
        Check(
            "sent twice only after an answer was lost",
            telegram_resent <= lost["telegram"] and discord_resent <= lost["discord"],
            f"Telegram {telegram_resent} repeated, {lost['telegram']} answers lost; "
            f"Discord {discord_resent} repeated, {lost['discord']} answers lost",
        ),
    ]
    return checks, figures


def without_resends(items: list[T], key: Callable[[T], str]) -> tuple[list[T], int]:
    """`items` with each run of identical neighbours counted once, and how many were dropped."""
    kept = [item for i, item in enumerate(items) if i == 0 or key(item) != key(items[i - 1])]
    return kept, len(items) - len(kept)


def answers_lost(log: str) -> dict[str, int]:
    """Per service, the retries logged after a post whose answer never came back."""
    lost = {"telegram": 0, "discord": 0}
    for line in log.splitlines():
        record = json.loads(line)
        causes = LOST_ANSWERS.get(record.get("event", ""))
        if causes and any(cause in record.get("error", "") for cause in causes):
            lost[record["event"].split()[0]] += 1
    return lost


def _difference(got: Counter[str], expected: Counter[str]) -> str:
    if got == expected:
        return f"{sum(got.values())} notifications, as expected"
    missing, extra = expected - got, got - expected
    return f"missing {dict(missing)}, unexpected {dict(extra)}"
