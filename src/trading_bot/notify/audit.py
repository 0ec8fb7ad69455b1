"""The audit trail: every order action, risk decision and isolated failure, as it happens.

Writes through `trading_bot.logs` (JSON lines in the audit file and the log file; the routine
order flow stays off the pretty console, which the console notifier covers), so a trader can
reconstruct what the bot did and why.
"""

from __future__ import annotations

from trading_bot.core.events import (
    HandlerFailed,
    OrderCanceled,
    OrderFilled,
    OrderRejected,
    OrderSubmitted,
    RiskLimitHit,
    TradingPaused,
    TradingResumed,
)
from trading_bot.core.hub import EventHub, Priority
from trading_bot.logs import log_action, log_error, log_order_action


class AuditTrail:
    def __init__(self, hub: EventHub) -> None:
        hub.subscribe(OrderSubmitted, self._on_submitted, Priority.NOTIFY)
        hub.subscribe(OrderFilled, self._on_filled, Priority.NOTIFY)
        hub.subscribe(OrderRejected, self._on_rejected, Priority.NOTIFY)
        hub.subscribe(OrderCanceled, self._on_canceled, Priority.NOTIFY)
        hub.subscribe(RiskLimitHit, self._on_risk_limit, Priority.NOTIFY)
        hub.subscribe(TradingPaused, self._on_paused, Priority.NOTIFY)
        hub.subscribe(TradingResumed, self._on_resumed, Priority.NOTIFY)
        hub.subscribe(HandlerFailed, self._on_handler_failed, Priority.NOTIFY)

    @staticmethod
    def _on_submitted(event: OrderSubmitted) -> None:
        o = event.order
        log_order_action(
            "order submitted",
            client_order_id=o.client_order_id,
            symbol=o.symbol,
            side=o.side.value,
            type=o.type.value,
            qty=str(o.qty),
            price=None if o.price is None else str(o.price),
            role=o.role.value,
            reason=o.reason,
        )

    @staticmethod
    def _on_filled(event: OrderFilled) -> None:
        f = event.fill
        log_order_action(
            "order filled",
            client_order_id=f.client_order_id,
            symbol=f.symbol,
            side=f.side.value,
            qty=str(f.qty),
            price=str(f.price),
            fee=str(f.fee),
            market_time=f.time,
        )

    @staticmethod
    def _on_rejected(event: OrderRejected) -> None:
        log_order_action(
            "order rejected",
            client_order_id=event.client_order_id,
            symbol=event.symbol,
            reason=event.reason,
        )

    @staticmethod
    def _on_canceled(event: OrderCanceled) -> None:
        log_order_action(
            "order canceled", client_order_id=event.client_order_id, reason=event.reason
        )

    @staticmethod
    def _on_risk_limit(event: RiskLimitHit) -> None:
        log_action("risk limit hit", limit=event.limit, detail=event.detail, until=event.until)

    @staticmethod
    def _on_paused(event: TradingPaused) -> None:
        log_action("trading paused", reason=event.reason)

    @staticmethod
    def _on_resumed(event: TradingResumed) -> None:
        log_action("trading resumed")

    @staticmethod
    def _on_handler_failed(event: HandlerFailed) -> None:
        log_error(event.error, handler=event.handler, event_type=str(event.event_type))
