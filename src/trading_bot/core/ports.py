"""The small interfaces through which core components see each other and the venue."""

from __future__ import annotations

from decimal import Decimal
from typing import Protocol

from trading_bot.core.model import Order, Position


class Broker(Protocol):
    """Where orders go: a simulated broker or a venue client. Calls must not block; outcomes
    come back as events on the hub (accepted, filled, rejected, canceled)."""

    def submit(self, order: Order) -> None: ...

    def cancel(self, client_order_id: str) -> None: ...


class PortfolioView(Protocol):
    @property
    def equity(self) -> float: ...

    def position(self, symbol: str) -> Position | None: ...

    def open_position_count(self) -> int: ...


class AccountView(PortfolioView, Protocol):
    """The portfolio as the risk manager sees it: with the cash a spot buy is paid from."""

    @property
    def cash(self) -> Decimal: ...


class OrderView(Protocol):
    def open_orders(self, symbol: str | None = None) -> list[Order]: ...


class EntryGate(Protocol):
    """Something outside the strategy that may forbid new entries for a while, such as an
    economic calendar's blackout around high-impact news. Exits are never asked."""

    def entry_block(self, symbol: str, time_ms: int) -> str | None:
        """Why no entry in `symbol` may open at `time_ms` (naming the cause), or None."""
        ...
