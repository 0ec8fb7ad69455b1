"""The portfolio manager: books fills into positions, realizes PnL, marks equity to market.

Cash accounting treats longs and shorts alike: buying spends cash, selling (short) receives it,
and equity is cash plus the signed position value at the last close. Money stays `Decimal`;
the per-candle equity mark is float (analytics).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import numpy as np
import numpy.typing as npt

from trading_bot.core.clock import Clock
from trading_bot.core.events import (
    CandleDataProcessed,
    EquityUpdated,
    OrderFilled,
    PositionChanged,
    PositionClosed,
)
from trading_bot.core.hub import EventHub, Priority
from trading_bot.core.model import ZERO, Direction, Fill, OrderRole, Position, Trade, to_decimal


class PortfolioManager:
    def __init__(
        self, hub: EventHub, clock: Clock, starting_cash: float, timeframe_ms: int
    ) -> None:
        self.hub = hub
        self.clock = clock
        self.timeframe_ms = timeframe_ms
        self.cash = to_decimal(starting_cash)
        self.positions: dict[str, Position] = {}
        self._cash_f = float(self.cash)
        self._open_qty_f: dict[str, float] = {}
        self._last_price: dict[str, float] = {}
        self.realized_pnl = ZERO
        self.fees_paid = ZERO
        hub.subscribe(OrderFilled, self._on_fill, Priority.PORTFOLIO)
        hub.subscribe(CandleDataProcessed, self._on_candle, Priority.PORTFOLIO)

    # -- PortfolioView ----------------------------------------------------------------------

    @property
    def equity(self) -> float:
        last = self._last_price
        return self._cash_f + sum(q * last.get(s, 0.0) for s, q in self._open_qty_f.items())

    def position(self, symbol: str) -> Position | None:
        return self.positions.get(symbol)

    def open_position_count(self) -> int:
        return len(self._open_qty_f)

    def open_positions(self) -> list[Position]:
        return [p for p in self.positions.values() if p.is_open]

    # -- persistence --------------------------------------------------------------------------

    def state(self) -> dict[str, Any]:
        return {
            "cash": str(self.cash),
            "realized_pnl": str(self.realized_pnl),
            "fees_paid": str(self.fees_paid),
        }

    def restore(self, state: dict[str, Any], positions: list[Position]) -> None:
        self.cash = Decimal(state.get("cash", str(self.cash)))
        self.realized_pnl = Decimal(state.get("realized_pnl", "0"))
        self.fees_paid = Decimal(state.get("fees_paid", "0"))
        self._cash_f = float(self.cash)
        for position in positions:
            self.positions[position.symbol] = position
            if position.is_open:
                self._open_qty_f[position.symbol] = float(position.qty)
                self._last_price[position.symbol] = position.last_price

    # -- events -------------------------------------------------------------------------------

    def _on_candle(self, event: CandleDataProcessed) -> None:
        candle = event.candle
        if candle.timeframe_ms != self.timeframe_ms:
            return
        self._last_price[candle.symbol] = candle.close
        position = self.positions.get(candle.symbol)
        if position is not None:
            position.last_price = candle.close
        self.hub.publish(EquityUpdated(candle.close_time, self.equity, self._cash_f))

    def mark_span(self, symbol: str, closes: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        """Equity after each of these consecutive closes of `symbol`, with no fill between
        them: exactly the values `EquityUpdated` would carry, vectorized for backtests."""
        last = self._last_price
        others = self._cash_f + sum(
            q * last.get(s, 0.0) for s, q in self._open_qty_f.items() if s != symbol
        )
        equity = others + self._open_qty_f.get(symbol, 0.0) * closes
        last[symbol] = float(closes[-1])
        position = self.positions.get(symbol)
        if position is not None:
            position.last_price = last[symbol]
        return equity

    def _on_fill(self, event: OrderFilled) -> None:
        fill = event.fill
        position = self.positions.get(fill.symbol)
        if position is None:
            position = self.positions[fill.symbol] = Position(fill.symbol)
        qty = fill.held_qty
        signed = qty if fill.side.sign > 0 else -qty
        self.cash -= signed * fill.price + fill.fee
        self.fees_paid += fill.fee
        self._cash_f = float(self.cash)
        if qty == ZERO:  # the venue kept it all (a part fill under one lot step)
            return
        if position.qty == ZERO or (position.qty > ZERO) == (signed > ZERO):
            self._add(position, fill, signed, fill.fee)
        else:
            closing = min(qty, abs(position.qty))
            exit_fee = fill.fee * closing / qty
            self._reduce(position, fill, closing, exit_fee)
            rest = qty - closing
            if rest > ZERO:
                self._add(position, fill, rest if signed > ZERO else -rest, fill.fee - exit_fee)
        if position.last_price == 0.0:
            position.last_price = float(fill.price)
            self._last_price.setdefault(fill.symbol, position.last_price)
        if position.is_open:
            self._open_qty_f[fill.symbol] = float(position.qty)
        else:
            self._open_qty_f.pop(fill.symbol, None)
        self.hub.publish(PositionChanged(position, fill.time))

    @staticmethod
    def _add(position: Position, fill: Fill, signed: Decimal, fee: Decimal) -> None:
        if position.qty == ZERO:
            position.opened_time = fill.time
            position.avg_price = fill.price
            position.entry_reason = fill.reason
        else:
            total = abs(position.qty) + abs(signed)
            position.avg_price = (
                position.avg_price * abs(position.qty) + fill.price * abs(signed)
            ) / total
        position.qty += signed
        position.entry_fees += fee

    def _reduce(self, position: Position, fill: Fill, closing: Decimal, exit_fee: Decimal) -> None:
        held = abs(position.qty)
        entry_fee = position.entry_fees * closing / held
        direction = position.direction
        sign = 1 if direction is Direction.LONG else -1
        pnl = closing * (fill.price - position.avg_price) * sign - entry_fee - exit_fee
        trade = Trade(
            symbol=position.symbol,
            side=direction,
            entry_time=position.opened_time,
            exit_time=fill.time,
            entry_price=position.avg_price,
            exit_price=fill.price,
            qty=closing,
            pnl=pnl,
            fees=entry_fee + exit_fee,
            exit_reason=_exit_reason(fill),
            entry_reason=position.entry_reason,
        )
        position.qty -= closing * sign
        position.entry_fees -= entry_fee
        position.realized_pnl += pnl
        self.realized_pnl += pnl
        if position.qty == ZERO:
            position.avg_price = ZERO
            position.entry_fees = ZERO
        self.hub.publish(PositionClosed(trade))


def _exit_reason(fill: Fill) -> str:
    if fill.role in (OrderRole.STOP_LOSS, OrderRole.TAKE_PROFIT):
        return fill.role.value
    return fill.reason or "exit"
