"""The whole pipeline on OANDA, as a live run wires it: the ICT strategy warmed up from the
fake's history, then fed by its pricing stream; its trade opens at the fake with the stop and
target on the fill, and is closed there by one of them, which shows in the portfolio."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pandas as pd

from tests.venues.oanda.conftest import FAST, SYMBOL
from trading_bot.core.events import OrderFilled
from trading_bot.core.hub import EventHub
from trading_bot.core.model import OrderRole
from trading_bot.core.settings import PipelineSettings, RiskSettings, StrategySettings
from trading_bot.pipeline import build_pipeline
from trading_bot.strategies.registry import build_strategy
from trading_bot.testing.fake_oanda import FakeOanda
from trading_bot.testing.fake_oanda_trading import FakeOandaTrading
from trading_bot.venues.oanda import OandaMarket
from trading_bot.venues.oanda.live import OandaLive

HOUR = 3_600_000
PARAMS = {"trading_day": "forex"}
FIRST_ENTRY = pd.Timestamp("2007-05-23T09:00Z")  # the backtest's first ICT trade on this data
EXITS = (OrderRole.STOP_LOSS, OrderRole.TAKE_PROFIT)


async def test_an_ict_trade_carries_its_stop_and_target_and_its_exit_shows_in_the_books(
    eurusd_1h: pd.DataFrame,
) -> None:
    # the data's 2007 spreads are ten pips wide: the fake's default spread keeps fills near mid
    frame = eurusd_1h.loc[: FIRST_ENTRY + pd.Timedelta(hours=30)].drop(columns="spread")
    live_from = int((FIRST_ENTRY - pd.Timedelta(hours=6)).value // 1_000_000)
    fake = FakeOanda({SYMBOL: frame}, live_from_ms=live_from, pace_s=0.0005, heartbeat_s=0.02)
    book = FakeOandaTrading(fake)
    hub = EventHub()
    fills: list[OrderFilled] = []
    exited = asyncio.Event()
    hub.subscribe(OrderFilled, fills.append)
    hub.subscribe(OrderFilled, lambda e: exited.set() if e.fill.role in EXITS else None)
    async with fake:
        market = OandaMarket(fake.settings(**{**FAST, "timeframe": "1h"}))
        await market.prepare(PipelineSettings().instrument)
        assert market.instrument is not None
        live = OandaLive(market)
        strategy = build_strategy("ict", PARAMS, SYMBOL, HOUR)
        # the fake's clock runs a quarter of an hour per price: a REST round trip on a busy
        # machine ages a signal by hours of its time, so signal age is not judged here
        settings = PipelineSettings(
            strategy=StrategySettings(name="ict", params=PARAMS),
            risk=RiskSettings(max_signal_age_s=0),
        )
        pipeline = build_pipeline(
            settings, fake.clock, strategy, market.instrument, live.broker(hub), hub=hub
        )
        for candle in await market.history(None, strategy.warmup):  # as the app warms up
            strategy.on_candle(candle)
        processor = pipeline.processor
        processor.restore_last_closed(SYMBOL, HOUR, live_from - HOUR)
        runs = [
            *live.tasks().values(),
            market.feed(hub, lambda s: processor.last_closed_time(s, HOUR)),
        ]
        tasks = [asyncio.create_task(run) for run in runs]
        try:
            async with asyncio.timeout(20):
                await exited.wait()
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await market.close()
    entry = next(f.fill for f in fills if f.fill.role is OrderRole.ENTRY)
    exit_ = next(f.fill for f in fills if f.fill.role in EXITS)
    assert entry.qty == exit_.qty and entry.side is exit_.side.opposite
    assert "swept" in entry.reason  # the ICT rationale travels with the order
    placed = [
        t
        for t in book.transactions.values()
        if t.get("type") in ("STOP_LOSS_ORDER", "TAKE_PROFIT_ORDER")
    ]
    assert len(placed) == 2  # both made by OANDA on the entry's fill, never sent by the bot
    assert book.trades == {}
    position = pipeline.portfolio.position(SYMBOL)
    assert position is None or position.qty == 0
    assert pipeline.portfolio.realized_pnl != Decimal(0)
