"""The soak scenario, shared by `bench/soak.py` (24 hours, memory figures) and
`test_soak_short.py` (2 hours, in the test suite): real candles through the real `trading-bot
run` command on `bot.venue = "binance"`, paper or live, against the fake Binance, with the
stream cut, paused and refused, REST failing, and Telegram and Discord down by turns.

The candles are real BTC/USDT prices: the five-minute candles from 2021-05-19 (the day bitcoin
fell from 43,000 to 30,000) on, one per market minute, `hours * 60` of them. They go out as
1-second klines at `speed` candles a wall-clock second: the fake's clock must stay within
Binance's widest recvWindow (60 s of its time) of the bot's own, as in the live tests.

Faults repeat every `CYCLE` candles (two market hours), the market's at places drawn from
`seed`; the last `QUIET` candles have none, so that everything has recovered at the end:
- the stream: every connection cut after `DROP_AFTER` messages, duplicates, reordering, lost
  and malformed frames (the fake's `StreamFaults`), and, per cycle, connections closed at random
  (twice), `serverShutdown`, a silent market (`pause_market`, longer than `stale_after_s`),
  refused reconnections, and REST answering 503 to candle requests;
- live, the orders: every `ERROR_AFTER_ACCEPT`th order and `CANCEL_ERROR`th cancel answered 503
  after Binance did it (the broker must look it up, not send it again);
- the notifiers, every `outage_every` candles each, by turns: Telegram answering 502, then 429,
  then refusing connections (a relay that goes down); Discord 429, refused, 503; each outage
  lasts a quarter of `outage_every` and at least `MIN_OUTAGE_S`.

Nothing must be lost: see `soak_checks`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import sqlite3
import time
from collections import Counter
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from trading_bot.data.files import load_candles
from trading_bot.testing.fake_binance import FakeBinance, StreamFaults, relabel
from trading_bot.testing.fake_binance_trading import FakeBinanceTrading, TradingFaults
from trading_bot.testing.fake_discord import FakeDiscord
from trading_bot.testing.fake_telegram import FakeTelegram
from trading_bot.testing.tcp_outage import TcpOutage

from .botprocess import STARTED, BotProcess, files_in
from .test_binance_live import venue_env

Mode = Literal["paper", "live"]
DATA_FILE = "binance-BTCUSDT-5m.csv.gz"
FIRST_CANDLE = "2021-05-19"
START = 1_700_006_400_000  # 2023-11-15 00:00 UTC: any run fits in one UTC day
SECOND = 1_000
CYCLE = 120  # candles: the faults repeat every two market hours
CHAT = 4242  # the Telegram chat the bot reports to
CASH = Decimal(10_000)
STRATEGY = Path(__file__).with_name("bracketed_cross.py")
PARAMS = {"fast": 2, "slow": 6}  # a trade every ten candles or so
UPDATES_PER_CANDLE = 4
PAUSE_S = 1.5  # a silent market, wall seconds: longer than stale_after_s
DROP_AFTER = 500  # messages per stream connection
ERROR_AFTER_ACCEPT = 11  # live: every 11th order answered 503 after Binance took it
CANCEL_ERROR = 5  # and every 5th cancel
QUIET = CYCLE // 4  # candles at the end without new faults
REST_ERRORS = 2  # per REST outage: fewer than binance.rest_attempts (3)
KLINES = "/api/v3/klines"
MIN_OUTAGE_S = 1.5  # longer than Telegram's pacing (1 s): a notification waits in each


@dataclass(frozen=True)
class SoakPlan:
    mode: Mode
    hours: float = 2.0
    speed: float = 20.0  # candles a wall second; live: at most ~50 (recvWindow)
    seed: int = 7
    # candles from one outage of a notifier to its next (each a quarter of that long, and at
    # least MIN_OUTAGE_S): Telegram's message a second must keep up with the market's pace
    outage_every: int = 120
    sample_s: float = 0.5  # how often the bot's memory and progress are read

    @property
    def candles(self) -> int:
        return round(self.hours * 60)


@dataclass
class Sample:
    wall_s: float
    candles: int  # processed by the bot
    rss_kb: int


@dataclass
class SoakRun:
    """What a run leaves for the checks and the figures."""

    plan: SoakPlan
    workdir: Path
    frame: pd.DataFrame
    fake: FakeBinance
    venue: FakeBinanceTrading | None
    telegram: FakeTelegram
    discord: FakeDiscord
    output: str = ""
    exit_code: int | None = None
    wall_s: float = 0.0
    samples: list[Sample] = field(default_factory=list)
    peak_rss_kb: int = 0
    faults: dict[str, int] = field(default_factory=dict)  # injected, by kind
    observed: dict[str, int] = field(default_factory=dict)  # connections and calls that failed

    @property
    def config(self) -> Path:
        return self.workdir / "soak.toml"

    @property
    def database(self) -> Path:
        return self.workdir / "bot.sqlite"


def soak_candles(shared_data: Path, hours: float) -> pd.DataFrame:
    """`hours * 60` real candles as 1-second klines opening at START."""
    real = load_candles(shared_data / DATA_FILE).loc[FIRST_CANDLE:]
    count = round(hours * 60)
    if not 0 < count <= len(real):
        raise ValueError(f"the data holds at most {len(real) // 60} hours from {FIRST_CANDLE}")
    return relabel(real.iloc[:count], SECOND, START)


TRADING_SECTIONS = f"""
[risk]
allow_short = false
max_signal_age_s = 0  # the candles are from 2023
risk_per_trade_pct = 0.2  # half the equity per position: market buys need room
max_daily_loss_pct = 100  # no kill switch: its day is the wall clock's in paper runs

[instrument]  # the fake's rules, for the backtest
tick_size = "0.01"
lot_step = "0.00001"
min_notional = "5"
spot = true

[portfolio]
starting_cash = {CASH}
"""


def write_soak_config(workdir: Path, mode: Mode) -> Path:
    """The bot's configuration; its trading sections are the backtest's (`backtest.toml`)."""
    (workdir / "backtest.toml").write_text(TRADING_SECTIONS)
    path = workdir / "soak.toml"
    params = ", ".join(f"{k} = {v}" for k, v in PARAMS.items())
    path.write_text(
        f"""
[bot]
mode = "{mode}"
venue = "binance"
heartbeat_interval_s = 10  # wall seconds: heartbeats go through the outages too
shutdown_timeout_s = 20  # what the notifiers still hold at the end goes out

[binance]
symbol = "BTC/USDT"
timeframe = "1s"
settle_s = 0
recv_window_ms = 60000  # the fake's clock runs `speed` times the wall clock
stale_after_s = 1
reconnect_min_s = 0.05
reconnect_max_s = 1
connects_per_5m = 300
{TRADING_SECTIONS}
[strategy]
name = "{STRATEGY}:BracketedCross"
params = {{ {params} }}

[telegram]
enabled = true
chat_ids = [{CHAT}]
retry_min_s = 0.2
retry_max_s = 1

[discord]
enabled = true
retry_min_s = 0.2
retry_max_s = 1
{files_in(workdir)}"""
    )
    return path


class MarketClock:
    """Where the fake's market is, in candles, awaitable from a task."""

    def __init__(self, fake: FakeBinance, first_open: int) -> None:
        self.index = 0  # candles opened so far
        self._first = first_open
        self._moved = asyncio.Event()
        fake.price_listeners.append(self._on_update)

    def _on_update(self, _venue: str, open_time: int, *_: object) -> None:
        self.index = (open_time - self._first) // SECOND + 1
        self._moved.set()

    async def reached(self, index: int) -> None:
        while self.index < index:
            self._moved.clear()
            await self._moved.wait()


Action = Callable[[], Coroutine[Any, Any, None] | None]


class FaultSchedule:
    """The faults at their candles, run by `run()` as the market reaches them: the market's,
    Telegram's and Discord's in three sequences, so that an outage that lasts delays only the
    next one of its own service. `counts` says what was injected."""

    def __init__(self, run: SoakRun, relays: dict[str, TcpOutage]) -> None:
        self.counts: dict[str, int] = {}
        self._fake = run.fake
        self._telegram, self._discord = run.telegram, run.discord
        self._relays = relays
        self._pauses: list[asyncio.TimerHandle] = []
        self._rest_errors = 0  # 503s asked of the fake so far
        chance = random.Random(run.plan.seed)
        limit = run.plan.candles - QUIET  # the end is quiet: everything recovers
        self.sequences: dict[str, list[tuple[int, str, Action]]] = {
            "market": [],
            "telegram": [],
            "discord": [],
        }
        for start in range(0, limit, CYCLE):
            for name, action in self._market_faults():
                index = start + int(chance.uniform(0.02, 0.73) * CYCLE)
                if index <= limit:
                    self.sequences["market"].append((index, name, action))
        every = run.plan.outage_every
        for service, first in (("telegram", every // 8), ("discord", every // 2)):
            kinds = self._outages(service)
            for k, begin in enumerate(range(first, limit - every // 4 + 1, every)):
                outage = Outage(*kinds[k % len(kinds)])
                self.sequences[service] += [
                    (begin, outage.name, outage.begin),
                    (begin + every // 4, f"{outage.name} recovered", outage.end),
                ]
        for actions in self.sequences.values():
            actions.sort(key=lambda a: a[0])

    async def run(self, market: MarketClock) -> None:
        async with asyncio.TaskGroup() as group:
            for actions in self.sequences.values():
                group.create_task(self._run(market, actions))

    async def _run(self, market: MarketClock, actions: list[tuple[int, str, Action]]) -> None:
        for index, name, action in actions:
            await market.reached(index)
            await _done(action())
            self.counts[name] = self.counts.get(name, 0) + 1

    def close(self) -> None:
        for handle in self._pauses:
            handle.cancel()

    # -- the faults ---------------------------------------------------------------------------

    def _market_faults(self) -> list[tuple[str, Action]]:
        fake = self._fake

        def refuse_reconnection() -> None:
            fake.refuse_streams(2)  # fewer than failures_before_polling: no REST polling
            fake.drop_connections()

        def pause() -> None:
            fake.pause_market()
            self._pauses.append(asyncio.get_running_loop().call_later(PAUSE_S, fake.resume_market))

        def rest_outage() -> None:
            """Two 503s for the next candle requests, once the last outage is over: more than
            the client's retries would leave a gap unfilled, and the candle unprocessed, as the
            feed is designed to do rather than stall."""
            if rest_errors(fake) >= self._rest_errors:
                fake.fail_rest(503, times=REST_ERRORS, path=KLINES)
                self._rest_errors += REST_ERRORS

        return [
            ("stream closed", fake.drop_connections),
            ("stream closed", fake.drop_connections),
            ("serverShutdown", fake.announce_shutdown),
            ("market silent", pause),
            ("reconnections refused", refuse_reconnection),
            # market data only: an order refused unprocessed is sent again once its recvWindow
            # has passed on the bot's clock, a minute here, past the end of a fast run
            ("REST outage", rest_outage),
        ]

    def _outages(self, service: str) -> list[tuple[str, Action, Action]]:
        """A notifier's kinds of outage, taken by turns: (name, down, up)."""
        if service == "telegram":
            telegram, relay = self._telegram, self._relays["telegram"]

            def answer(status: int) -> Action:
                return lambda: telegram.fail("sendMessage", 10**9, status)

            def answered() -> None:
                telegram.fail("sendMessage", 0)

            return [
                ("telegram 502", answer(502), answered),
                ("telegram 429", answer(429), answered),
                ("telegram refused", relay.down, relay.up),
            ]
        discord, relay = self._discord, self._relays["discord"]

        def posted() -> None:
            discord.fail(0)

        return [
            ("discord 429", lambda: discord.rate_limit(10**9, retry_after=0.5), posted),
            ("discord refused", relay.down, relay.up),
            ("discord 503", lambda: discord.fail(10**9, 503), posted),
        ]


class Outage:
    """A notifier out of service from one candle to another, and for at least `MIN_OUTAGE_S`
    (wall time: the bot has something to send meanwhile, however fast the market runs)."""

    def __init__(self, name: str, down: Action, up: Action) -> None:
        self.name = name
        self._down, self._up = down, up
        self._since = 0.0

    async def begin(self) -> None:
        self._since = time.monotonic()
        await _done(self._down())

    async def end(self) -> None:
        # the outage's length is the fault itself, not a wait for something to happen
        await asyncio.sleep(self._since + MIN_OUTAGE_S - time.monotonic())
        await _done(self._up())


async def _done(result: Coroutine[Any, Any, None] | None) -> None:
    if result is not None:
        await result


def rest_errors(fake: FakeBinance) -> int:
    """The 503s the fake has answered to candle requests."""
    return sum(1 for r in fake.requests if r.path == KLINES and r.status == 503)


def rss_kb(pid: int) -> tuple[int, int]:
    """A process's resident memory now and at its peak (kB), from /proc."""
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0])
    return values["VmRSS"], values["VmHWM"]


def processed(database: Path, first_open: int) -> int:
    """Candles the bot has processed, by the last one its database holds (saved every
    flush_interval_s)."""
    if not database.exists():
        return 0
    with contextlib.closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as db:
        try:
            row = db.execute("SELECT value FROM bot_state WHERE key = 'feed'").fetchone()
        except sqlite3.OperationalError:  # not migrated yet
            return 0
    if row is None:
        return 0
    last = json.loads(row[0]).get("last_open_time")
    return 0 if last is None else (int(last) - first_open) // SECOND + 1


Progress = Callable[[Sample], None]


async def run_soak(
    plan: SoakPlan, shared_data: Path, workdir: Path, on_sample: Progress | None = None
) -> SoakRun:
    """Run the bot through the plan's candles and faults; stop it once it has processed the last
    candle. The fakes stay readable in the result."""
    frame = soak_candles(shared_data, plan.hours)
    pace_s = 1 / (plan.speed * UPDATES_PER_CANDLE)
    faults = StreamFaults(
        drop_after=DROP_AFTER,
        duplicate_every=101,
        reorder_every=89,
        lose_every=307,
        malformed_every=211,
    )
    fake = FakeBinance({"BTC/USDT": frame}, "1s", pace_s=pace_s, faults=faults)
    venue = None
    if plan.mode == "live":
        trading = TradingFaults(
            error_after_accept_every=ERROR_AFTER_ACCEPT, cancel_error_after_every=CANCEL_ERROR
        )
        venue = FakeBinanceTrading(fake, balances={"USDT": CASH, "BTC": Decimal(0)}, faults=trading)
    run = SoakRun(plan, workdir, frame, fake, venue, FakeTelegram(), FakeDiscord())
    write_soak_config(workdir, plan.mode)
    market = MarketClock(fake, START)
    async with contextlib.AsyncExitStack() as stack:
        await stack.enter_async_context(venue or fake)
        await stack.enter_async_context(run.telegram)
        await stack.enter_async_context(run.discord)
        relays = {
            "telegram": await stack.enter_async_context(TcpOutage(run.telegram.url)),
            "discord": await stack.enter_async_context(TcpOutage(run.discord.url)),
        }
        schedule = FaultSchedule(run, relays)
        stack.callback(schedule.close)
        env = {
            **(venue_env(venue) if venue else _market_env(fake)),
            "TRADING_BOT_TELEGRAM__BOT_TOKEN": run.telegram.token,
            "TRADING_BOT_TELEGRAM__BASE_URL": relays["telegram"].url + "/bot",
            "TRADING_BOT_TELEGRAM__BASE_FILE_URL": relays["telegram"].url + "/file/bot",
            "TRADING_BOT_DISCORD__WEBHOOK_URL": run.discord.webhook_url.replace(
                run.discord.url, relays["discord"].url
            ),
        }
        began = time.monotonic()
        bot = await BotProcess.start(run.config, workdir, **env)
        try:
            await bot.wait_for(STARTED)
            reader = asyncio.create_task(_read_output(bot))
            faulting = asyncio.create_task(schedule.run(market))
            try:
                await _follow(run, bot, began, on_sample)
                async with asyncio.timeout(30):
                    await faulting  # the last outages end
            finally:
                faulting.cancel()
                reader.cancel()
                await asyncio.gather(faulting, reader, return_exceptions=True)
            run.exit_code = await bot.stop(timeout=30)
        finally:
            if bot.proc.returncode is None:  # a failed run leaves no bot behind
                bot.proc.kill()
                await bot.proc.wait()
            run.output = bot.output
        run.wall_s = time.monotonic() - began
        run.faults = _fault_counts(run, schedule)
        run.observed = _observed(run)
    return run


def _market_env(fake: FakeBinance) -> dict[str, str]:
    return {
        "TRADING_BOT_BINANCE__REST_URL": fake.rest_url,
        "TRADING_BOT_BINANCE__WS_URL": fake.ws_url,
    }


async def _read_output(bot: BotProcess) -> None:
    """Keep the bot's output pipe empty: a full pipe would block its console."""
    assert bot.proc.stdout is not None
    while line := await bot.proc.stdout.readline():
        bot.lines.append(line.decode())


async def _follow(run: SoakRun, bot: BotProcess, began: float, on_sample: Progress | None) -> None:
    """Sample memory and progress until the bot has processed the last candle. No event
    crosses the process boundary, so this polls, every `sample_s`, with a deadline."""
    plan = run.plan
    deadline = time.monotonic() + 120 + 10 * plan.candles / plan.speed
    while True:
        try:
            rss, peak = rss_kb(bot.proc.pid)
        except FileNotFoundError:  # the process is gone
            await bot.proc.wait()
        if bot.proc.returncode is not None:
            raise AssertionError("the bot exited during the soak:\n" + bot.output[-3000:])
        done = processed(run.database, START)
        sample = Sample(time.monotonic() - began, done, rss)
        run.samples.append(sample)
        run.peak_rss_kb = max(run.peak_rss_kb, peak)
        if on_sample is not None:
            on_sample(sample)
        if done >= plan.candles and run.fake.finished.is_set():
            return
        if time.monotonic() > deadline:
            raise AssertionError(
                f"the bot processed {done} of {plan.candles} candles before the deadline"
            )
        await asyncio.sleep(plan.sample_s)


def _fault_counts(run: SoakRun, schedule: FaultSchedule) -> dict[str, int]:
    """What was injected, by kind (the stream's own faults as the fake counted them)."""
    counts = {
        name: n
        for name, n in schedule.counts.items()
        if not name.endswith(" recovered") and name != "REST outage"
    }
    for name, n in run.fake.sent_faults.items():
        counts[f"stream {name}" if name != "dropped" else f"stream cut after {DROP_AFTER}"] = n
    counts["REST 503 (candles)"] = rest_errors(run.fake)
    if run.venue is not None:
        counts["orders, cancels: 503 once done"] = run.venue.faults_done["error_after"]
    return counts


def _observed(run: SoakRun) -> dict[str, int]:
    """What the faults did to the connections and calls the bot made (a refused connection
    never reaches a fake: those are counted from the bot's log)."""
    refused: Counter[str] = Counter()
    for line in (run.workdir / "logs" / "bot.jsonl").read_text().splitlines():
        record = json.loads(line)
        if "Connect" in record.get("error", ""):
            refused[record["event"]] += 1
    return {
        "stream connections": run.fake.connections,
        "stream connections refused": run.fake.refused,
        "telegram calls failed": sum(1 for c in run.telegram.calls if c.status != 200),
        "telegram sends unreachable": refused["telegram unreachable; retrying"],
        "discord posts failed": sum(1 for s in run.discord.statuses if s >= 400),
        "discord posts unreachable": refused["discord webhook unreachable; retrying"],
    }
