"""The `trading-bot` command. User errors print one clear line and exit 2, never a traceback."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from pydantic import ValidationError
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

from trading_bot import __version__
from trading_bot.config import ConfigError, Settings, load_settings, secret_values
from trading_bot.core.clock import datetime_to_ms
from trading_bot.core.errors import UserError
from trading_bot.core.settings import ExecutionSettings, PortfolioSettings, StrategySettings
from trading_bot.data.timeframes import parse_time, parse_timeframe
from trading_bot.logs import configure_logging
from trading_bot.notify.console import Terminal
from trading_bot.strategies.registry import build_strategy

app = typer.Typer(
    name="trading-bot",
    help="An asynchronous, event-driven trading bot: backtest, paper-trade and trade live "
    "(Binance spot, OANDA) through one pipeline.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Terminal(soft_wrap=True)
errors = Terminal(stderr=True, soft_wrap=True)

# what a user can fix; `UserError` covers the files, settings, databases and venues at fault,
# so the modules that raise them are imported only by the commands that need them
USER_ERRORS: tuple[type[Exception], ...] = (UserError, ValueError)


class Venue(StrEnum):
    BINANCE = "binance"
    OANDA = "oanda"


ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="TOML configuration file (default: the embedded one)."),
]


def fail(message: str) -> NoReturn:
    errors.print(f"[bold red]error:[/] {message}", highlight=False)
    raise typer.Exit(2)


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn the errors a user can fix into one clear line and exit code 2."""
    try:
        yield
    except ConfigError as exc:
        for problem in exc.problems:
            errors.print(f"[bold red]config error:[/] {problem}", highlight=False)
        raise typer.Exit(2) from None
    except ValidationError as exc:  # an option's value refused by the settings it goes into
        for error in exc.errors(include_url=False):
            key = ".".join(map(str, error["loc"]))
            errors.print(
                f"[bold red]error:[/] {key} = {error.get('input')!r}: {error['msg']}",
                highlight=False,
            )
        raise typer.Exit(2) from None
    except USER_ERRORS as exc:
        fail(str(exc))


def _load(config: Path | None) -> Settings:
    with user_errors():
        return load_settings(config)


@app.command()
def run(config: ConfigOption = None) -> None:
    """Run the bot until stopped (Ctrl-C or SIGTERM; SIGHUP reloads the configuration).

    The embedded default paper-trades the seeded SYNTHETIC sample on the replay venue and keeps
    its state in ./trading_bot.sqlite, so a restart continues where the last run stopped.
    """
    from trading_bot.api.server import ApiUnavailable
    from trading_bot.api.token import TokenFileError
    from trading_bot.app import LiveModeUnavailable, run_app

    settings = _load(config)
    configure_logging(settings.logging, secret_values(settings))
    with user_errors():
        try:
            code = asyncio.run(run_app(settings, config, console))
        except (LiveModeUnavailable, ApiUnavailable, TokenFileError) as exc:
            fail(str(exc))
    raise typer.Exit(code)


@app.command()
def health(config: ConfigOption = None) -> None:
    """Is the running bot healthy? Reads the report it rewrites every 5 s (bot.health_file):
    exit 0 and a summary when healthy, exit 1 and the reason otherwise (not running, stuck,
    feed stale, ...). For monitoring and systemd's ExecStartPost-style checks."""
    from trading_bot.health_report import verdict

    settings = _load(config)
    path = settings.bot.health_file
    if path is None:
        fail('bot.health_file is off (""), so the bot reports its health nowhere; set a path')
    healthy, line = verdict(path)
    (console if healthy else errors).print(line, highlight=False, markup=False)
    raise typer.Exit(0 if healthy else 1)


@app.command("check-config")
def check_config(
    file: Annotated[Path, typer.Argument(help="The TOML configuration file to validate.")],
) -> None:
    """Validate a configuration file (with environment overrides), the strategy's parameters
    included: exit 0 if it is good, or print one line per problem (key, value, why) and exit 2."""
    settings = _load(file)
    with user_errors():  # the strategy checks its own parameters when it is built
        build_strategy(settings.strategy.name, settings.strategy.params, "CHECK/ONLY", 60_000)
    console.print(f"{file}: OK ({settings.bot.mode} mode, strategy {settings.strategy.name})")


def _parse_params(pairs: list[str]) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            fail(f"--param '{pair}' is not KEY=VALUE (for example --param fast=10)")
        params[key.strip()] = value.strip()
    return params


@app.command()
def backtest(
    strategy: Annotated[
        str, typer.Option(help="Built-in name (sma_cross), 'module:Class' or 'file.py:Class'.")
    ],
    data: Annotated[
        Path,
        typer.Option(help="Candles: CSV (time,open,high,low,close,volume; .gz ok) or Parquet."),
    ],
    param: Annotated[
        list[str] | None, typer.Option("--param", "-p", help="Strategy parameter KEY=VALUE.")
    ] = None,
    cash: Annotated[float | None, typer.Option(help="Starting cash (default 10000).")] = None,
    fee_rate: Annotated[
        float | None, typer.Option(help="Fee per fill as a fraction of value (default 0.001).")
    ] = None,
    slippage_bps: Annotated[
        float | None, typer.Option(help="Adverse slippage of market/stop fills in bps.")
    ] = None,
    symbol: Annotated[str, typer.Option(help="Symbol name to show in results.")] = "",
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Write the result (metrics, trades) as JSON.")
    ] = None,
    report: Annotated[
        Path | None, typer.Option(help="Write a standalone HTML report (equity, drawdown, trades).")
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Backtest a strategy on a candle file through the same pipeline the bot trades with.

    Market orders fill at the next candle's open; when a candle reaches both stop and target,
    the stop is assumed first. Risk sizing and limits come from the configuration's [risk].
    """
    from trading_bot.backtest.report import write_html_report
    from trading_bot.backtest.result import write_json
    from trading_bot.backtest.runner import run_backtest
    from trading_bot.backtest.summary import print_summary
    from trading_bot.data.files import load_candles

    settings = _load(config)
    pipeline = settings.pipeline
    execution = pipeline.execution.model_dump()
    if fee_rate is not None:
        execution["fee_rate"] = fee_rate
    if slippage_bps is not None:
        execution["slippage_bps"] = slippage_bps
    with user_errors():
        pipeline = pipeline.model_copy(
            update={
                "strategy": StrategySettings(name=strategy, params=_parse_params(param or [])),
                "execution": ExecutionSettings.model_validate(execution),
                "portfolio": PortfolioSettings(
                    starting_cash=cash if cash is not None else pipeline.portfolio.starting_cash
                ),
            }
        )
        frame = load_candles(data)
        name = symbol or data.name.split(".")[0]
        with _progress(f"backtest {strategy} on {data.name}", len(frame)) as advance:
            result = run_backtest(frame, pipeline, name, advance)
    print_summary(result, console)
    if json_out is not None:
        write_json(result, json_out)
        console.print(f"JSON written to {json_out}")
    if report is not None:
        write_html_report(result, report)
        console.print(f"HTML report written to {report}")


@app.command()
def plot(
    data: Annotated[
        Path,
        typer.Option(help="Candles: CSV (time,open,high,low,close,volume; .gz ok) or Parquet."),
    ],
    start: Annotated[
        str, typer.Option(help="First candle to draw: ISO date or time, UTC (2023-01-05T08:00).")
    ],
    end: Annotated[str, typer.Option(help="Draw candles opening before this (ISO, UTC).")],
    out: Annotated[Path, typer.Option(help="The HTML file to write.")],
    strategy: Annotated[
        str | None,
        typer.Option(help="Also backtest this strategy (ict, ...) and draw its setups."),
    ] = None,
    param: Annotated[
        list[str] | None,
        typer.Option(
            "--param", "-p", help="Strategy parameter KEY=VALUE (without a strategy: ict's)."
        ),
    ] = None,
    symbol: Annotated[str, typer.Option(help="Symbol name to show.")] = "",
    config: ConfigOption = None,
) -> None:
    """Draw candles with the ICT structures (swings, gaps, order blocks, liquidity, sweeps,
    structure breaks, killzones) and a strategy's setups, as a standalone HTML chart.

    The indicators start well before --start, so what was known when the window opens shows.
    """
    from trading_bot.backtest.ict_plot import (
        ict_figure,
        ict_layers,
        indicator_params,
        plot_title,
        run_strategy,
        select_window,
        write_ict_plot,
    )
    from trading_bot.data.files import load_candles

    params = _parse_params(param or [])
    with user_errors():
        start_ms, end_ms = parse_time(start, "--start"), parse_time(end, "--end")
        ict_params = indicator_params(strategy, params)
        frame = load_candles(data)
        window = select_window(frame, start_ms, end_ms)
        name = symbol or data.name.split(".")[0]
        layers = ict_layers(window, ict_params)
        run = None
        if strategy is not None:
            settings = _load(config).pipeline.model_copy(
                update={"strategy": StrategySettings(name=strategy, params=params)}
            )
            bars = len(window.backtest_frame)
            with _progress(f"backtest {strategy} on {data.name}", bars) as advance:
                run = run_strategy(window, settings, name, advance)
        figure = ict_figure(window, layers, run)
    try:
        write_ict_plot(out, figure, window, plot_title(name, window, strategy, params), run)
    except OSError as exc:
        fail(f"cannot write {out}: {exc.strerror or exc}")
    setups = f", {len(run.setups)} setups" if run is not None else ""
    console.print(f"chart of {window.candles:,} candles{setups} written to {out}")


@contextmanager
def _progress(label: str, total: int) -> Iterator[Callable[[int, int], None]]:
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed:,}/{task.total:,} bars"),
        TimeRemainingColumn(),
        console=errors,
        transient=True,
    ) as progress:
        task = progress.add_task(label, total=total)

        def advance(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        yield advance


@app.command()
def optimize(
    strategy: Annotated[
        str, typer.Option(help="Built-in name (sma_cross, ict), 'module:Class' or 'file.py:Class'.")
    ],
    data: Annotated[Path, typer.Option(help="Candles: CSV (.gz ok) or Parquet.")],
    param: Annotated[
        list[str] | None,
        typer.Option(
            "--param", "-p", help="KEY=START:STOP:STEP (stop included), KEY=a,b,c or KEY=VALUE."
        ),
    ] = None,
    method: Annotated[str, typer.Option(help="grid, random or optuna (seeded: 42).")] = "grid",
    trials: Annotated[
        int | None, typer.Option(min=1, help="Trials of random/optuna (default 100).")
    ] = None,
    objective: Annotated[
        str, typer.Option(help="sharpe, sortino, return, calmar or profit_factor.")
    ] = "sharpe",
    min_trades: Annotated[
        int, typer.Option(min=0, help="Fewer trades make a trial ineligible.")
    ] = 0,
    walk_forward: Annotated[
        int | None, typer.Option(min=1, help="K rolling folds: optimize in, test out of sample.")
    ] = None,
    engine: Annotated[str, typer.Option(help="local (process pool) or ray.")] = "local",
    workers: Annotated[
        int | None, typer.Option(min=1, help="Processes or Ray CPUs (default: all CPUs).")
    ] = None,
    ray_address: Annotated[
        str | None, typer.Option(help="Join this Ray cluster (default: a local Ray).")
    ] = None,
    json_out: Annotated[Path | None, typer.Option("--json", help="Every trial as JSON.")] = None,
    report: Annotated[
        Path | None, typer.Option(help="HTML report: heatmap and walk-forward equity.")
    ] = None,
    resume: Annotated[
        Path | None, typer.Option(help="Continue from a checkpoint or --json of the same run.")
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Search a strategy's parameters with many backtests, on a local process pool or a Ray
    cluster; optionally walk-forward. Ctrl-C keeps the finished trials and says how to resume.
    Risk, execution and portfolio settings come from the configuration."""
    from trading_bot.optimize.command import optimize_command

    settings = _load(config)
    with user_errors():
        code = optimize_command(
            strategy, data, param or [], method, trials, objective, min_trades, walk_forward,
            engine, workers, ray_address, json_out, report, resume, console,
            settings=settings.pipeline,
        )  # fmt: skip
    raise typer.Exit(code)


@app.command("generate-data")
def generate_data(
    out: Annotated[Path, typer.Argument(help="Output file: .csv, .csv.gz or .parquet.")],
    candles: Annotated[int, typer.Option(min=1, help="Number of candles.")] = 100_000,
    timeframe: Annotated[str, typer.Option(help="Candle timeframe, e.g. 1m, 1h.")] = "1m",
    seed: Annotated[int, typer.Option(help="Random seed: the same seed gives the same data.")] = 42,
    start: Annotated[
        datetime, typer.Option(help="Open time of the first candle (UTC).")
    ] = datetime(2024, 1, 1),
) -> None:
    """Write SYNTHETIC sample candles (trends, ranges, volatility clusters, gaps) to a file."""
    from trading_bot.data.files import save_candles
    from trading_bot.data.synthetic import generate_candles

    with user_errors():
        frame = generate_candles(candles, parse_timeframe(timeframe), seed, datetime_to_ms(start))
        save_candles(frame, out)
    console.print(f"{len(frame):,} synthetic {timeframe} candles (seed {seed}) written to {out}")


@app.command("download-data")
def download_data(
    symbol: Annotated[str, typer.Option(help="Market as BASE/QUOTE, e.g. BTC/USDT.")],
    timeframe: Annotated[str, typer.Option(help="Candle interval: 1s, 1m, 5m, 1h, 1d, ...")],
    start: Annotated[str, typer.Option(help="First candle's open time: ISO date or time, UTC.")],
    end: Annotated[str, typer.Option(help="Candles opening before this time (ISO, UTC).")],
    out: Annotated[
        Path, typer.Option(help="Output: .csv, .csv.gz or .parquet; resumed if it exists.")
    ],
    venue: Annotated[Venue, typer.Option(help="Where from.")] = Venue.BINANCE,
    config: ConfigOption = None,
) -> None:
    """Download closed candles (paginated, resumable, with a progress bar) in the format the
    backtester reads. Endpoints (and OANDA's account and token) come from the configuration's
    [binance] or [oanda] section."""
    from trading_bot.core.clock import WallClock
    from trading_bot.venues.binance.download import download_klines
    from trading_bot.venues.binance.rest import BinanceRest
    from trading_bot.venues.oanda.download import download_candles
    from trading_bot.venues.oanda.rest import OandaRest

    settings = _load(config)
    with user_errors():
        start_ms, end_ms = parse_time(start, "--start"), parse_time(end, "--end")
        if end_ms <= start_ms:
            raise ValueError("--end must come after --start")
        expected = (end_ms - start_ms) // parse_timeframe(timeframe)

        async def download() -> int:
            with _progress(f"{symbol} {timeframe} from {venue.value}", expected) as advance:
                if venue is Venue.OANDA:
                    async with OandaRest(settings.oanda) as oanda:
                        result = await download_candles(
                            oanda, symbol, timeframe, start_ms, end_ms, out, advance
                        )
                else:
                    async with BinanceRest(settings.binance, WallClock()) as rest:
                        result = await download_klines(
                            rest, symbol, timeframe, start_ms, end_ms, out, advance
                        )
            return result.written

        written = asyncio.run(download())
    console.print(f"{written:,} candles written to {out}")


@app.command("record-data")
def record_data(
    out: Annotated[Path, typer.Option(help="Output: .csv, .csv.gz or .parquet.")],
    duration: Annotated[
        float | None, typer.Option(min=0, help="Seconds to record (default: until Ctrl-C).")
    ] = None,
    until: Annotated[
        str | None, typer.Option(help="Stop once the candle opening at this time has closed.")
    ] = None,
    venue: Annotated[
        Venue | None, typer.Option(help="Where from (default: the configuration's bot.venue).")
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Record the closed candles of the configured market exactly as the bot's feed delivers
    them to the strategy (after the DataProcessor), in the backtester's format."""
    from trading_bot.app import make_market
    from trading_bot.venues.record import record_candles

    settings = _load(config)

    async def record() -> int:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        market = make_market(settings, None if venue is None else venue.value)
        try:
            await market.prepare(settings.instrument)
            return await record_candles(market, out, stop, duration, until_ms)
        finally:
            await market.close()

    with user_errors():
        until_ms = None if until is None else parse_time(until, "--until")
        written = asyncio.run(record())
    console.print(f"{written:,} closed candles written to {out}")


@app.command()
def version() -> None:
    """Print the version."""
    console.print(f"trading-bot {__version__}")


def main() -> None:
    app()
