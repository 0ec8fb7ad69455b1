"""Orders are written down before they leave (write-ahead), in every venue's broker.

A crash between the request going out and the order being saved would leave an order at the
venue that the bot does not know of, perhaps filled, perhaps a position nobody manages. So the
broker awaits `persist(order)` (the app writes the order row durably) before the first send; a
crash after it leaves an intent the next start looks up by client order id. If the record
cannot be made, the order is refused: none goes out unrecorded.

After a restart, an entry whose placement was never confirmed and that the venue does not have
is dropped, not sent: its signal is history by then. Stops, targets and exits are sent.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import structlog

from trading_bot.core.model import Order

log = structlog.get_logger("trading_bot.venues")

Persist = Callable[[Order], Awaitable[None]]
LATE_ENTRY = "not placed before the restart; an entry is never sent late"


async def record_intent(persist: Persist | None, order: Order) -> str | None:
    """None once `order` is recorded (or nothing is to record it); else why it must not go."""
    if persist is None:
        return None
    try:
        await persist(order)
    except Exception as exc:  # the database is the bot's memory: without it, no order
        log.error("order not recorded, so not sent", order=order.client_order_id, exc_info=exc)
        return f"the order could not be recorded before sending ({exc})"
    return None
