"""The price scanner against the fake Binance (real REST shapes over loopback) on real BTC/USDT
hourly candles of the May 2021 crash: measures agree with an independent computation, alerts
come once per crossing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest

from trading_bot.core.clock import datetime_to_ms
from trading_bot.core.hub import EventHub
from trading_bot.data.files import load_candles
from trading_bot.services.scanner import PriceAlert, PriceScanner, ScannerSettings
from trading_bot.services.scanner_binance import BinanceScanSource
from trading_bot.testing.fake_binance import FakeBinance
from trading_bot.testing.fake_binance_tickers import FakeBinanceTickers
from trading_bot.venues.binance.rest import BinanceRest, ticker_weight
from trading_bot.venues.errors import TemporaryError

HOUR = 3_600_000


def at(text: str) -> int:
    return datetime_to_ms(pd.Timestamp(text).to_pydatetime())


@dataclass
class Market:
    fake: FakeBinance
    rest: BinanceRest
    source: BinanceScanSource
    frame: pd.DataFrame


@pytest.fixture
async def market(shared_data: Path) -> AsyncIterator[Market]:
    frame = load_week(shared_data)
    fake = FakeBinance(
        {"BTC/USDT": frame}, "1h", updates_per_candle=1, live_from_ms=at("2021-05-18T12:00Z")
    )
    FakeBinanceTickers(fake, {"BTC/USDT": frame})
    async with fake, BinanceRest(fake.settings(rest_attempts=1), fake.clock) as rest:
        yield Market(fake, rest, BinanceScanSource(rest, await rest.markets()), frame)


def load_week(shared_data: Path) -> pd.DataFrame:
    return load_candles(shared_data / "binance-BTCUSDT-1h.csv.gz").loc["2021-05-10":"2021-05-21"]


def expected_change_pct(frame: pd.DataFrame, now: int) -> float:
    """The 24 h change an independent reader of the candles computes at `now`."""
    window = frame[(frame.index >= pd.Timestamp(now - 24 * HOUR, unit="ms", tz="UTC"))]
    window = window[window.index <= pd.Timestamp(now - HOUR, unit="ms", tz="UTC")]
    return float((window["close"].iloc[-1] / window["open"].iloc[0] - 1) * 100)


async def test_a_crash_raises_one_alert_per_crossing(market: Market) -> None:
    hub = EventHub()
    alerts: list[PriceAlert] = []
    hub.subscribe(PriceAlert, alerts.append)
    settings = ScannerSettings(
        enabled=True, symbols=("BTC/USDT",), change_pct=10, atr_pct=3.0, atr_period=14
    )
    scanner = PriceScanner(settings, hub, market.fake.clock, market.source)
    steps = market.fake.updates()
    for _ in range(25):  # hourly scans from 2021-05-18 12:00 to 2021-05-19 12:00
        (row,) = await scanner.scan()
        now = market.fake.clock.now_ms()
        assert row.change_pct == pytest.approx(expected_change_pct(market.frame, now), abs=1e-3)
        next(steps)

    change = [a for a in alerts if a.metric == "change_pct"]
    assert [(a.time, round(a.value, 2)) for a in change] == [(at("2021-05-19T03:00Z"), 10.43)]
    assert change[0].detail.startswith("BTC/USDT: 24 h change -10.43% (threshold 10)")
    volatility = [a for a in alerts if a.metric == "atr_pct"]
    assert len(volatility) == 1 and volatility[0].value >= 3.0
    assert scanner.rows["BTC/USDT"].atr_pct is not None
    assert scanner.rows["BTC/USDT"].atr_pct >= 3.0
    assert scanner.rows["BTC/USDT"].last_price == Decimal("38700.00000000")


async def test_tickers_are_asked_for_in_one_request_with_their_weight(market: Market) -> None:
    (ticker,) = await market.source.tickers(["BTC/USDT"])
    assert ticker.symbol == "BTC/USDT"
    assert ticker.quote_volume > 0
    request = market.fake.requests[-1]
    assert request.path == "/api/v3/ticker/24hr"
    assert request.params == {"symbols": '["BTCUSDT"]'}
    assert [ticker_weight(n) for n in (["A"], ["A"] * 20, ["A"] * 21, ["A"] * 100)] == [
        2,
        2,
        40,
        40,
    ]
    assert ticker_weight(["A"] * 101) == ticker_weight(None) == 80


async def test_a_venue_failure_leaves_as_a_venue_error(market: Market) -> None:
    hub = EventHub()
    scanner = PriceScanner(
        ScannerSettings(enabled=True, symbols=("BTC/USDT",)), hub, market.fake.clock, market.source
    )
    market.fake.fail_rest(503, path="/api/v3/ticker/24hr")
    with pytest.raises(TemporaryError):
        await scanner.scan()
    assert scanner.rows == {}
    assert len(await scanner.scan()) == 1  # and the next scan works
