"""The symbols the bot trades, their strategies and the one market-data task that serves them.

The configured symbol (the home symbol) is always traded. With a dynamic universe, the
ranking's pick is traded beside it: a new symbol's strategy is warmed up from history before it
sees its first live candle, and a dropped one stops being traded, except that a symbol with an
open position or open orders is kept (entries refused, the position managed) until it is flat.
Each change restarts the feed over the new set; the new connection backfills every symbol after
its last processed candle, so a change loses no candle.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

import structlog

from trading_bot.core.model import Candle
from trading_bot.logs import log_action
from trading_bot.pipeline import Pipeline
from trading_bot.strategies.base import Strategy
from trading_bot.venues.market import Market, MultiSymbolMarket

log = structlog.get_logger("trading_bot.traded")

Changed = Callable[[list[str], list[str], list[str]], None]  # added, dropped, kept while open


class LeavingSymbols:
    """The entry gate of symbols that left the universe but are still open: their positions
    are managed, no new entry opens in them."""

    def __init__(self) -> None:
        self.symbols: set[str] = set()

    def entry_block(self, symbol: str, time_ms: int) -> str | None:
        if symbol not in self.symbols:
            return None
        return f"{symbol} left the traded universe; only what is open in it is managed"


class TradedSymbols:
    def __init__(
        self,
        pipeline: Pipeline,
        market: Market,
        multi: MultiSymbolMarket | None,
        make_strategy: Callable[[str], Strategy],
        leaving: LeavingSymbols,
        on_change: Changed,
    ) -> None:
        self.pipeline = pipeline
        self.market = market
        self.multi = multi  # None: the market serves its own symbol only
        self.home = market.symbol
        self.timeframe = market.timeframe_ms
        self.picked: list[str] = []  # the universe's last pick
        self._make = make_strategy
        self._leaving = leaving
        self._on_change = on_change
        self._changed = asyncio.Event()

    @property
    def symbols(self) -> list[str]:
        """Every traded symbol, the home symbol first."""
        return list(self.pipeline.strategy_host.strategies)

    def _held(self) -> set[str]:
        """Symbols with an open position or open orders."""
        p = self.pipeline
        return {x.symbol for x in p.portfolio.open_positions()} | {
            o.symbol for o in p.execution.open_orders()
        }

    # -- history and persistence -----------------------------------------------------------------

    async def warm_up(self, strategy: Strategy, resume_after: int | None) -> None:
        """Replay history to a strategy that rebuilds its memory from candles
        (`Strategy.warmup`): the candles before the resume point, or on a first start the
        latest ones (a replay has none). Its signals then are history, not orders; the feed
        goes on after the last of these candles."""
        if strategy.warmup == 0:
            return
        history = await self._history(strategy.symbol, resume_after, strategy.warmup)
        for candle in history:
            strategy.on_candle(candle)
        if history and resume_after is None:
            self.pipeline.processor.restore_last_closed(
                strategy.symbol, self.timeframe, history[-1].open_time
            )

    async def _history(self, symbol: str, until: int | None, count: int) -> list[Candle]:
        if symbol == self.home:
            return await self.market.history(until, count)
        assert self.multi is not None, "only a multi-symbol market trades other symbols"
        return await self.multi.history(until, count, symbol)

    def state(self) -> dict[str, Any]:
        """What a restart needs of the symbols beside the home one (the app saves the home
        symbol's strategy and feed position under their own keys)."""
        processor, strategies = self.pipeline.processor, self.pipeline.strategy_host.strategies
        return {
            "picked": self.picked,
            "symbols": {
                symbol: {
                    "name": strategy.name,
                    "strategy": strategy.state(),
                    "last_open_time": processor.last_closed_time(symbol, self.timeframe),
                }
                for symbol, strategy in strategies.items()
                if symbol != self.home
            },
        }

    async def restore(self, state: dict[str, Any], universe: bool) -> None:
        """Before the feed starts: trade again what the last run traded (with `universe`, the
        last pick; always, what is still open), from each symbol's last processed candle."""
        if self.multi is None:
            return
        self.picked = list(state.get("picked", [])) if universe else []
        saved: dict[str, dict[str, Any]] = state.get("symbols", {})
        for symbol in dict.fromkeys([*self.picked, *sorted(self._held())]):
            if symbol == self.home:
                continue
            entry = saved.get(symbol, {})
            strategy = self._make(symbol)
            if entry.get("name") == strategy.name:
                strategy.restore(entry.get("strategy", {}))
            last = entry.get("last_open_time")
            await self._start(strategy, None if last is None else int(last))
        self._update_leaving()

    # -- changes ---------------------------------------------------------------------------------

    async def apply(self, picked: Sequence[str]) -> None:
        """Trade the home symbol, `picked`, and whatever is still open; the universe's job."""
        assert self.multi is not None, "a dynamic universe needs a multi-symbol market"
        self.picked = list(picked)
        wanted = list(dict.fromkeys([self.home, *picked]))
        current = self.symbols
        added = []
        for symbol in wanted:
            if symbol not in current:
                await self._start(self._make(symbol), None)
                added.append(symbol)
        held = self._held()
        dropped = [s for s in current if s not in wanted and s not in held]
        for symbol in dropped:
            self.pipeline.stop_trading(symbol)
            self.pipeline.processor.forget(symbol)
        kept = [s for s in current if s not in wanted and s in held]
        newly_kept = sorted(set(kept) - self._leaving.symbols)
        self._update_leaving()
        if added or dropped or newly_kept:
            log_action("universe changed", added=added, dropped=dropped, kept_while_open=kept)
            self._on_change(added, dropped, newly_kept)
            self._changed.set()

    async def _start(self, strategy: Strategy, resume_after: int | None) -> None:
        """Warm `strategy` up, then trade its symbol (a symbol the venue no longer lists is
        logged and skipped)."""
        assert self.multi is not None
        symbol = strategy.symbol
        try:
            instrument = self.multi.instrument(symbol)
        except ValueError as exc:
            log.error("symbol cannot be traded; skipped", symbol=symbol, error=str(exc))
            return
        if resume_after is not None:
            self.pipeline.processor.restore_last_closed(symbol, self.timeframe, resume_after)
        await self.warm_up(strategy, resume_after)
        self.pipeline.trade(instrument, strategy)

    def _update_leaving(self) -> None:
        self._leaving.symbols = {s for s in self.symbols if s != self.home and s not in self.picked}

    # -- market data -----------------------------------------------------------------------------

    async def run_feed(self) -> None:
        """The market-data task: one feed over the traded symbols, started again whenever they
        change; it ends (or fails) when the feed does."""
        while True:
            self._changed.clear()
            feed = asyncio.ensure_future(self._feed(self.symbols))
            change = asyncio.ensure_future(self._changed.wait())
            try:
                done, _ = await asyncio.wait({feed, change}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for task in (feed, change):
                    task.cancel()
                await asyncio.gather(feed, change, return_exceptions=True)
            if feed in done:
                feed.result()  # a failure leaves as this task's
                return
            log.info("feed restarting for the traded symbols", symbols=self.symbols)

    def _feed(self, symbols: list[str]) -> Coroutine[Any, Any, None]:
        processor, timeframe = self.pipeline.processor, self.timeframe

        def last_closed(symbol: str) -> int | None:
            return processor.last_closed_time(symbol, timeframe)

        if self.multi is None:
            return self.market.feed(self.pipeline.hub, last_closed)
        return self.multi.feed(self.pipeline.hub, last_closed, symbols)
