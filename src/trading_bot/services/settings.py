"""The settings of every periodic service, in one light module: the configuration loads them
without importing what the services run on (pandas, feedparser, aiohttp), which keeps the
command's start (`trading-bot --help`) quick."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator

from trading_bot.core.settings import Section

DEFAULT_ALIASES: dict[str, tuple[str, ...]] = {
    "USD": ("dollar", "greenback", "Fed", "FOMC", "Powell", "nonfarm", "non-farm"),
    "EUR": ("euro", "eurozone", "euro zone", "ECB", "Lagarde"),
    "GBP": ("sterling", "pound", "BoE", "Bank of England"),
    "JPY": ("yen", "BoJ", "Bank of Japan"),
    "CHF": ("Swiss franc", "SNB"),
    "AUD": ("Aussie", "RBA"),
    "CAD": ("loonie", "Bank of Canada"),
    "BTC": ("bitcoin",),
    "ETH": ("ether", "ethereum"),
}


DOLLAR_STABLECOINS: dict[str, tuple[str, ...]] = {"USD": ("USDT", "USDC")}


class NewsSettings(Section):
    enabled: bool = Field(False, description="poll the news feeds")
    feeds: tuple[str, ...] = Field((), description="RSS or Atom feed URLs")
    interval_s: float = Field(300.0, ge=30, description="how often to poll every feed")
    timeout_s: float = Field(20.0, gt=0, description="HTTP timeout of one fetch")
    max_age_hours: float = Field(24.0, gt=0, description="older items are not published")
    remember: int = Field(5000, ge=100, description="item ids kept to recognise repeats")
    thread_above_bytes: int = Field(
        65_536, ge=0, description="parse documents larger than this in a worker thread"
    )
    aliases: dict[str, tuple[str, ...]] = Field(
        default_factory=lambda: dict(DEFAULT_ALIASES),
        description="words that mention a currency besides its code (case-insensitive)",
    )
    notify: bool = Field(True, description="send items about the traded symbols to the notifiers")


class CalendarSettings(Section):
    enabled: bool = Field(False, description="refuse entries around high-impact events")
    url: str = Field(
        "https://nfs.faireconomy.media/ff_calendar_thisweek.xml",
        description="the weekly calendar XML (ForexFactory format)",
    )
    timezone: str = Field("UTC", description="IANA zone the feed's dates and times are in")
    refresh_interval_s: float = Field(3600.0, ge=60, description="how often to fetch it")
    timeout_s: float = Field(20.0, gt=0, description="HTTP timeout of one fetch")
    impacts: tuple[str, ...] = Field(("High",), description="impact levels that black out")
    minutes_before: int = Field(30, ge=0, le=1440, description="blackout start before an event")
    minutes_after: int = Field(30, ge=0, le=1440, description="blackout end after an event")
    also_affects: dict[str, tuple[str, ...]] = Field(
        default_factory=lambda: dict(DOLLAR_STABLECOINS),
        description="currencies an event's currency also moves (USD events and USDT pairs)",
    )
    flatten_minutes_before: int | None = Field(
        None, ge=0, le=1440, description="close positions this long before an event (none: keep)"
    )
    block_until_loaded: bool = Field(
        False, description="refuse entries while the calendar has never been loaded"
    )

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone {value!r} (use an IANA name such as UTC)"
            ) from None
        return value


class AtrWindow(Section):
    """How a service measures volatility: Wilder's ATR over `atr_period` candles."""

    atr_interval: str = Field("1h", description="candles the ATR is measured on")
    atr_period: int = Field(14, ge=1, le=500, description="candles in the ATR (Wilder)")


class ScannerSettings(AtrWindow):
    enabled: bool = Field(False, description="scan the watchlist")
    symbols: tuple[str, ...] = Field((), description="the watchlist, as BASE/QUOTE")
    interval_s: float = Field(300.0, ge=10, description="how often to scan")
    change_pct: float | None = Field(
        5.0, gt=0, description="alert when the 24 h change reaches +/- this % (none: never)"
    )
    atr_pct: float | None = Field(
        None, gt=0, description="alert when the ATR reaches this % of the price (none: never)"
    )
    quote_volume: float | None = Field(
        None, gt=0, description="alert when the 24 h quote volume reaches this (none: never)"
    )
    rearm_fraction: float = Field(
        0.8, gt=0, le=1, description="an alert re-arms once its measure is below this x threshold"
    )


class UniverseSettings(AtrWindow):
    enabled: bool = Field(
        False,
        description="trade the top N symbols by 24 h quote volume, chosen again every "
        "interval_s (Binance only; binance.symbol is always traded too)",
    )
    top_n: int = Field(5, ge=1, le=50, description="how many symbols the ranking picks")
    quote_asset: str = Field("USDT", min_length=1, description="only symbols quoted in this")
    exclude: tuple[str, ...] = Field(
        (), description="symbols never picked, as BASE/QUOTE (e.g. stablecoin pairs)"
    )
    min_price: float | None = Field(None, gt=0, description="skip symbols priced below this")
    max_price: float | None = Field(None, gt=0, description="skip symbols priced above this")
    min_quote_volume: float | None = Field(
        None, gt=0, description="skip symbols with less 24 h quote volume than this"
    )
    max_spread_pct: float | None = Field(
        0.1, gt=0, description="skip symbols whose bid-ask spread is wider than this % of mid"
    )
    min_atr_pct: float | None = Field(
        None, gt=0, description="skip symbols whose ATR is below this % of the price"
    )
    max_atr_pct: float | None = Field(
        None, gt=0, description="skip symbols whose ATR is above this % of the price"
    )
    interval_s: float = Field(3600.0, ge=60, description="how often the ranking is redone")


class HousekeepingSettings(Section):
    enabled: bool = Field(False, description="clean the log folder and back up the database")
    log_dir: Path | None = Field(None, description="the folder cleaned (none: no log cleaning)")
    patterns: tuple[str, ...] = Field(
        ("*.log", "*.log.*", "*.jsonl", "*.jsonl.*"), description="names of the files cleaned"
    )
    compress_after_days: float | None = Field(
        1.0, ge=0, description="gzip logs unchanged this long (none: never)"
    )
    delete_after_days: float | None = Field(
        30.0, gt=0, description="delete logs unchanged this long (none: never)"
    )
    max_total_mb: float | None = Field(
        500.0, gt=0, description="delete the oldest logs while the folder holds more (none: no cap)"
    )
    interval_s: float = Field(3600.0, ge=60, description="how often to clean the logs")
    backup_dir: Path | None = Field(None, description="where database backups go (none: none)")
    backup_interval_s: float = Field(86_400.0, ge=60, description="time between backups")
    keep_backups: int = Field(7, ge=1, description="backups kept; older ones are deleted")


class ServicesSettings(Section):
    news: NewsSettings = NewsSettings()
    calendar: CalendarSettings = CalendarSettings()
    scanner: ScannerSettings = ScannerSettings()
    universe: UniverseSettings = UniverseSettings()
    housekeeping: HousekeepingSettings = HousekeepingSettings()
    jitter_fraction: float = Field(
        0.1, ge=0, lt=1, description="random delay within each interval, as a fraction of it"
    )
    retry_s: float = Field(30.0, gt=0, description="first retry after a failed run (doubling)")
