"""The recorder: copies what must be persisted out of the event stream, without any I/O."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import structlog

from trading_bot.core.events import (
    EquityUpdated,
    OrderAccepted,
    OrderCanceled,
    OrderFilled,
    OrderRejected,
    OrderSubmitted,
    PositionChanged,
    PositionClosed,
)
from trading_bot.core.hub import EventHub, Priority
from trading_bot.core.model import Order
from trading_bot.storage.batch import RecordBatch

log = structlog.get_logger("trading_bot.storage")


class Recorder:
    """Buffers orders, fills, trades, positions, equity and bot state in a `RecordBatch`.

    Its handlers only copy into memory, so the hub stays fast; the app periodically passes
    `take_batch()` to `StateStore.save` in a worker thread. Call `take_batch` and `set_state` on
    the hub's thread: the batch they hand over then belongs to the saver alone.

    `order_lookup` must return an order's current state, including its final state while the
    event that finished it (filled, rejected, canceled) is being dispatched. `fill_counts`
    (from `StateStore.fill_counts()` at start) continues each order's fill numbering across
    restarts, so a later fill of an older order is not taken for one already saved.
    """

    def __init__(
        self,
        hub: EventHub,
        order_lookup: Callable[[str], Order | None],
        fill_counts: Mapping[str, int] | None = None,
    ) -> None:
        self._order_lookup = order_lookup
        self._fill_counts = dict(fill_counts or {})
        self._batch = RecordBatch()
        hub.subscribe(OrderSubmitted, self._on_order_submitted, Priority.RECORDER)
        hub.subscribe(OrderAccepted, self._on_order_changed, Priority.RECORDER)
        hub.subscribe(OrderRejected, self._on_order_changed, Priority.RECORDER)
        hub.subscribe(OrderCanceled, self._on_order_changed, Priority.RECORDER)
        hub.subscribe(OrderFilled, self._on_order_filled, Priority.RECORDER)
        hub.subscribe(PositionChanged, self._on_position_changed, Priority.RECORDER)
        hub.subscribe(PositionClosed, self._on_position_closed, Priority.RECORDER)
        hub.subscribe(EquityUpdated, self._on_equity_updated, Priority.RECORDER)

    def set_state(self, key: str, value: Any) -> None:
        """Buffer a piece of bot state (JSON-serializable) to save with the next batch."""
        self._batch.set_state(key, value)

    def take_batch(self) -> RecordBatch:
        """Everything buffered since the last call; the recorder starts a new batch."""
        batch, self._batch = self._batch, RecordBatch()
        return batch

    def give_back(self, unsaved: RecordBatch) -> None:
        """A batch whose save failed: it goes with the next one, under what came since."""
        self._batch = unsaved.put_under(self._batch)

    def _on_order_submitted(self, event: OrderSubmitted) -> None:
        self._batch.add_order(event.order)

    def _on_order_changed(self, event: OrderAccepted | OrderRejected | OrderCanceled) -> None:
        # A rejection without a client order id refused a signal: there is no order to record.
        if event.client_order_id is not None:
            self._record_order(event.client_order_id)

    def _on_order_filled(self, event: OrderFilled) -> None:
        fill = event.fill
        ordinal = self._fill_counts.get(fill.client_order_id, 0) + 1
        self._fill_counts[fill.client_order_id] = ordinal
        self._batch.add_fill(f"{fill.client_order_id}:{ordinal}", fill)
        self._record_order(fill.client_order_id)

    def _on_position_changed(self, event: PositionChanged) -> None:
        self._batch.add_position(event.position)

    def _on_position_closed(self, event: PositionClosed) -> None:
        self._batch.add_trade(event.trade)

    def _on_equity_updated(self, event: EquityUpdated) -> None:
        self._batch.add_equity(event.time, event.equity, event.cash)

    def _record_order(self, client_order_id: str) -> None:
        order = self._order_lookup(client_order_id)
        if order is None:
            log.warning("order to record is unknown", client_order_id=client_order_id)
            return
        self._batch.add_order(order)
