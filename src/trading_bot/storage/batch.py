"""RecordBatch: what happened since the last save, held in memory until the store writes it."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from typing import Any

from trading_bot.core.model import Fill, Order, Position, Trade


@dataclass
class RecordBatch:
    """Records to persist. Orders and positions are snapshots (copies, so later changes by their
    owners do not leak in); for them, for equity per timestamp and for state keys, the latest
    record wins. Fills are keyed by their fill id, which makes saving them idempotent."""

    orders: dict[str, Order] = field(default_factory=dict)
    fills: dict[str, Fill] = field(default_factory=dict)
    trades: list[Trade] = field(default_factory=list)
    equity: dict[int, tuple[float, float]] = field(default_factory=dict)
    positions: dict[str, Position] = field(default_factory=dict)
    state: dict[str, str] = field(default_factory=dict)  # key -> JSON text

    def add_order(self, order: Order) -> None:
        self.orders[order.client_order_id] = replace(order)

    def add_fill(self, fill_id: str, fill: Fill) -> None:
        self.fills[fill_id] = fill

    def add_trade(self, trade: Trade) -> None:
        self.trades.append(trade)

    def add_equity(self, time: int, equity: float, cash: float) -> None:
        self.equity[time] = (equity, cash)

    def add_position(self, position: Position) -> None:
        """A flat position (qty 0) deletes the symbol's row when saved."""
        self.positions[position.symbol] = replace(position)

    def put_under(self, newer: RecordBatch) -> RecordBatch:
        """This (older, unsaved) batch with `newer`'s records on top, where the latest wins:
        a failed save's records, given back to the recorder to go with the next save."""
        return RecordBatch(
            {**self.orders, **newer.orders},
            {**self.fills, **newer.fills},
            [*self.trades, *newer.trades],
            {**self.equity, **newer.equity},
            {**self.positions, **newer.positions},
            {**self.state, **newer.state},
        )

    def set_state(self, key: str, value: Any) -> None:
        """Serialize now, so a value that is not JSON fails here, at its caller, and not later
        in a background save where it would take the whole batch down with it."""
        try:
            self.state[key] = json.dumps(value, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"bot state {key!r} must be JSON-serializable: {exc}") from exc
