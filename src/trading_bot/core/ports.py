"""The small interfaces through which core components see each other and the venue."""

from __future__ import annotations

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


class OrderView(Protocol):
    def open_orders(self, symbol: str | None = None) -> list[Order]: ...
