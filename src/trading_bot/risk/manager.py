"""The risk manager: turns signals into sized, rounded order requests, or rejects them.

Sizing: with a stop, the position loses `risk_per_trade_pct` of equity if the stop is hit;
without one, the position is worth `position_size_pct` of equity. Both are capped at
`max_leverage` x equity and at `max_position_notional`; a buy on a spot market, paid in full,
also at the cash not yet committed to buy entries under way, less `spot_cash_buffer_pct` for the
fee and the price moving (the venue would refuse it otherwise). Exits are never blocked; entries are
blocked while trading is paused, after the daily loss kill switch fired (until the next UTC
day), while the `entry_gate` (an economic calendar's blackout) forbids them, at
`max_open_positions`, or when the signal's candle closed more than `max_signal_age_s`
ago: after downtime a live feed catches up on the candles it missed, and the strategy's verdicts
on those are history, not prices anyone can still trade at.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import numpy as np
import numpy.typing as npt
import structlog

from trading_bot.core.clock import DAY_MS, Clock, day_start_ms, ms_to_iso
from trading_bot.core.events import (
    EquityUpdated,
    OrderCancelRequested,
    OrderRejected,
    OrderRequestGenerated,
    RiskLimitHit,
    TradingPaused,
    TradingResumed,
    TradingSignalGenerated,
)
from trading_bot.core.hub import EventHub, Priority
from trading_bot.core.model import (
    ZERO,
    Direction,
    Instrument,
    Order,
    OrderRequest,
    OrderRole,
    OrderType,
    Side,
    Signal,
    to_decimal,
)
from trading_bot.core.ports import AccountView, EntryGate, OrderView
from trading_bot.core.settings import RiskSettings

log = structlog.get_logger("trading_bot.risk")

_ENTRY_SIDE = {Direction.LONG: Side.BUY, Direction.SHORT: Side.SELL}


class RiskManager:
    def __init__(
        self,
        hub: EventHub,
        clock: Clock,
        settings: RiskSettings,
        instruments: dict[str, Instrument],
        portfolio: AccountView,
        orders: OrderView,
        entry_gate: EntryGate | None = None,
    ) -> None:
        self.hub = hub
        self.clock = clock
        self.settings = settings
        self.instruments = instruments
        self.portfolio = portfolio
        self.orders = orders
        self.entry_gate = entry_gate
        self.paused = False
        self.pause_reason = ""
        self.halted_until: int | None = None
        self.day_start: int | None = None
        self.day_start_equity = 0.0
        self._asked_price: dict[str, float] = {}
        """Per symbol, the price its last buy entry was sized at: what a market buy still under
        way is expected to cost."""
        hub.subscribe(TradingSignalGenerated, self._on_signal, Priority.RISK)
        hub.subscribe(EquityUpdated, self._on_equity, Priority.RISK)

    # -- control ------------------------------------------------------------------------

    def pause(self, reason: str) -> None:
        """No new entries until `resume()`; exits and protective orders keep working. Paused
        already, a different reason replaces the old one (and is announced): people must see
        why it is paused now, not why it was first."""
        if not self.paused or reason != self.pause_reason:
            self.paused, self.pause_reason = True, reason
            self.hub.publish(TradingPaused(reason, self.clock.now_ms()))

    def resume(self) -> None:
        if self.paused:
            self.paused, self.pause_reason = False, ""
            self.hub.publish(TradingResumed(self.clock.now_ms()))

    def state(self) -> dict[str, Any]:
        return {
            "paused": self.paused,
            "pause_reason": self.pause_reason,
            "halted_until": self.halted_until,
            "day_start": self.day_start,
            "day_start_equity": self.day_start_equity,
        }

    def restore(self, state: dict[str, Any]) -> None:
        self.paused = bool(state.get("paused", False))
        self.pause_reason = str(state.get("pause_reason", ""))
        self.halted_until = state.get("halted_until")
        self.day_start = state.get("day_start")
        self.day_start_equity = float(state.get("day_start_equity", 0.0))

    # -- daily loss kill switch -------------------------------------------------------------

    def _on_equity(self, event: EquityUpdated) -> None:
        day = day_start_ms(event.time)
        if day != self.day_start:
            self.day_start, self.day_start_equity = day, event.equity
        floor = self._daily_floor(event.time)
        if floor is not None and event.equity <= floor:
            self._trip_daily_loss(event.time, event.equity)

    def observe_equity(self, times: npt.NDArray[np.int64], equity: npt.NDArray[np.float64]) -> None:
        """The same as one `EquityUpdated` per (time, equity), vectorized for backtests."""
        days = times - times % DAY_MS
        starts = [0, *(np.flatnonzero(days[1:] != days[:-1]) + 1).tolist()]
        for start, end in zip(starts, [*starts[1:], len(times)], strict=True):
            day = int(days[start])
            if day != self.day_start:
                self.day_start, self.day_start_equity = day, float(equity[start])
            floor = self._daily_floor(int(times[start]))
            if floor is None:
                continue
            breached = np.flatnonzero(equity[start:end] <= floor)
            if len(breached):
                at = start + int(breached[0])
                self._trip_daily_loss(int(times[at]), float(equity[at]))

    def _daily_floor(self, now: int) -> float | None:
        """Equity at or below which the kill switch fires now; None when it cannot fire."""
        limit = self.settings.max_daily_loss_pct
        if limit is None or self._halted(now):
            return None
        return self.day_start_equity * (1 - limit / 100)

    def _trip_daily_loss(self, time: int, equity: float) -> None:
        day_end = day_start_ms(time) + DAY_MS
        self.halted_until = day_end
        detail = (
            f"equity {equity:.2f} fell {self.settings.max_daily_loss_pct}% below the day's "
            f"start {self.day_start_equity:.2f}: no new entries until {ms_to_iso(day_end)}"
        )
        log.warning("daily loss limit hit", detail=detail)
        self.hub.publish(RiskLimitHit("max_daily_loss", detail, time, until=day_end))

    def _halted(self, now: int) -> bool:
        return self.halted_until is not None and now < self.halted_until

    # -- signals ------------------------------------------------------------------------

    def _on_signal(self, event: TradingSignalGenerated) -> None:
        signal = event.signal
        under_way = self._market_entry_under_way(signal.symbol)
        if under_way is not None and signal.direction is not Direction.FLAT:
            # Live fills come after the venue answers: candles caught up in a burst can repeat
            # a signal before its entry has filled, and must not open a second position.
            if under_way.side is _ENTRY_SIDE[signal.direction]:
                return  # the entry this signal asks for is being carried out
            self._reject(signal, f"an entry in {signal.symbol} is still being carried out")
            return
        self._cancel_pending_entries(signal)
        position = self.portfolio.position(signal.symbol)
        held = position.direction if position is not None else Direction.FLAT
        if held is not Direction.FLAT and held is not signal.direction and position is not None:
            side = Side.SELL if held is Direction.LONG else Side.BUY
            self._request(signal, side, abs(position.qty), OrderRole.EXIT)
        if signal.direction is Direction.FLAT or held is signal.direction:
            return
        problem = self._entry_problem(signal, flipping=held is not Direction.FLAT)
        if problem is not None:
            self._reject(signal, problem)
            return
        self._enter(signal)

    def _market_entry_under_way(self, symbol: str) -> Order | None:
        """A market entry sent but not filled yet (only live, where fills come later)."""
        for order in self.orders.open_orders(symbol):
            if order.role is OrderRole.ENTRY and order.type is OrderType.MARKET:
                return order
        return None

    def _cancel_pending_entries(self, signal: Signal) -> None:
        """A new signal supersedes a limit entry that has not filled yet."""
        for order in self.orders.open_orders(signal.symbol):
            if order.role is OrderRole.ENTRY:
                reason = f"superseded by a {signal.direction.value} signal"
                self.hub.publish(OrderCancelRequested(order.client_order_id, reason, signal.time))

    def _entry_problem(self, signal: Signal, flipping: bool) -> str | None:
        if self.paused:
            return f"trading is paused ({self.pause_reason}): no new entries"
        if self._halted(signal.time):
            assert self.halted_until is not None
            return f"daily loss limit hit: no new entries until {ms_to_iso(self.halted_until)}"
        if self.entry_gate is not None:
            blocked = self.entry_gate.entry_block(signal.symbol, signal.time)
            if blocked is not None:
                return blocked
        age_ms = self.clock.now_ms() - signal.time
        max_age_s = self.settings.max_signal_age_s
        if max_age_s and age_ms > max_age_s * 1000:
            return (
                f"the signal's candle closed {age_ms / 1000:.0f} s ago, more than "
                f"risk.max_signal_age_s = {max_age_s:g}: too late to enter"
            )
        if signal.direction is Direction.SHORT and not self.settings.allow_short:
            return "short entries are disabled (risk.allow_short = false)"
        others_open = self.portfolio.open_position_count() - flipping
        if others_open >= self.settings.max_open_positions:
            limit = self.settings.max_open_positions
            return f"{limit} positions are open already (risk.max_open_positions)"
        if signal.symbol not in self.instruments:
            return f"no instrument rules for {signal.symbol}"
        price = _entry_price(signal)
        if not price > 0:
            return f"entry price {price} is not a positive number"
        stop = signal.stop_loss
        if stop is not None and (
            (stop >= price) if signal.direction is Direction.LONG else (stop <= price)
        ):
            return f"stop {stop} is on the wrong side of the entry {price}"
        return None

    def _enter(self, signal: Signal) -> None:
        instrument = self.instruments[signal.symbol]
        settings = self.settings
        price = _entry_price(signal)
        if signal.stop_loss is not None:
            at_risk = self.portfolio.equity * settings.risk_per_trade_pct / 100
            qty_f = at_risk / abs(price - signal.stop_loss)
        else:
            qty_f = self.portfolio.equity * settings.position_size_pct / 100 / price
        qty_f = min(qty_f, self.portfolio.equity * settings.max_leverage / price)
        if settings.max_position_notional is not None:
            qty_f = min(qty_f, settings.max_position_notional / price)
        side = Side.BUY if signal.direction is Direction.LONG else Side.SELL
        if instrument.spot and side is Side.BUY:
            free = float(self.portfolio.cash) - self._committed_to_buys()
            if free <= 0:
                self._reject(signal, f"no cash left for a buy: {self._cash_text(free)}")
                return
            qty_f = min(qty_f, free / (price * (1 + settings.spot_cash_buffer_pct / 100)))
            self._asked_price[signal.symbol] = price
        qty = instrument.round_qty(to_decimal(qty_f)) if qty_f > 0 else ZERO
        problem = instrument.order_size_problem(qty, to_decimal(price))
        if problem is not None:
            self._reject(signal, f"position too small: {problem}")
            return
        limit = _rounded(instrument, signal.entry)
        self._request(
            signal,
            side,
            qty,
            OrderRole.ENTRY,
            OrderType.MARKET if limit is None else OrderType.LIMIT,
            limit,
            _rounded(instrument, signal.stop_loss),
            _rounded(instrument, signal.take_profit),
        )

    def _committed_to_buys(self) -> float:
        """What the buy entries under way will still cost (a market one at the price it was
        sized at)."""
        total = 0.0
        for order in self.orders.open_orders():
            if order.role is OrderRole.ENTRY and order.side is Side.BUY:
                price = self._asked_price.get(order.symbol, 0.0)
                if order.price is not None:
                    price = float(order.price)
                total += float(order.remaining_qty) * price
        return total

    def _cash_text(self, free: float) -> str:
        cash = float(self.portfolio.cash)
        return f"{cash:,.2f} in cash, {cash - free:,.2f} of it committed to buys under way"

    def _request(
        self,
        signal: Signal,
        side: Side,
        qty: Decimal,
        role: OrderRole,
        order_type: OrderType = OrderType.MARKET,
        price: Decimal | None = None,
        stop_loss: Decimal | None = None,
        take_profit: Decimal | None = None,
    ) -> None:
        request = OrderRequest(
            symbol=signal.symbol,
            side=side,
            type=order_type,
            qty=qty,
            role=role,
            time=signal.time,
            price=price,
            stop_loss=stop_loss,
            take_profit=take_profit,
            reason=signal.reason,
            expires=signal.expires if role is OrderRole.ENTRY else None,
        )
        self.hub.publish(OrderRequestGenerated(request))

    def _reject(self, signal: Signal, reason: str) -> None:
        log.info(
            "signal rejected", symbol=signal.symbol, direction=str(signal.direction), reason=reason
        )
        self.hub.publish(OrderRejected(signal.symbol, reason, signal.time))


def _entry_price(signal: Signal) -> float:
    """The price an entry is sized at: its limit, or the signal's close for a market entry."""
    return signal.price if signal.entry is None else signal.entry


def _rounded(instrument: Instrument, price: float | None) -> Decimal | None:
    return None if price is None else instrument.round_price(to_decimal(price))
