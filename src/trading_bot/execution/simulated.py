"""The simulated broker: fills orders against closed candles, for backtests and paper trading.

Rules (the same in backtest and paper, so both give the same trades):
- a market order fills at the open of the next candle after it was placed;
- a stop fills at its trigger price when the candle's range reaches it, or at the open when the
  candle opens beyond it (a gap); a limit fills at its price, or at the better open;
- market and stop fills pay `slippage_bps` against the trader; every fill pays `fee_rate`, in
  the quote asset, except a buy on a spot market (`Instrument.spot`, as on Binance): that pays it
  in the asset bought, as the venue does, so the position holds the quantity less the fee,
  rounded down to the lot step (`Fill.fee_qty`), and paper books what live would;
- when one candle reaches both the stop and the target of a position, the stop is assumed to
  have filled first (the conservative assumption: the candle does not say which came first);
- stops and targets placed when an entry fills are checked against the rest of that candle.
A fill's time is the open time of the candle whose price filled it.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from trading_bot.core.clock import Clock
from trading_bot.core.events import (
    CandleDataProcessed,
    OrderAccepted,
    OrderCanceled,
    OrderFilled,
    OrderRejected,
)
from trading_bot.core.hub import EventHub, Priority
from trading_bot.core.model import (
    ZERO,
    Candle,
    Fill,
    Instrument,
    Order,
    OrderType,
    Side,
    to_decimal,
)
from trading_bot.core.settings import ExecutionSettings

# Within one candle: market orders first, then stops before limits (stop-first assumption).
_RANK = {OrderType.MARKET: 0, OrderType.STOP: 1, OrderType.LIMIT: 2}


class SimulatedBroker:
    def __init__(
        self,
        hub: EventHub,
        clock: Clock,
        settings: ExecutionSettings,
        instruments: dict[str, Instrument],
        timeframe_ms: int,
    ) -> None:
        self.hub = hub
        self.clock = clock
        self.instruments = instruments
        self.timeframe_ms = timeframe_ms
        self.fee_rate = to_decimal(settings.fee_rate)
        self.slippage = settings.slippage_bps / 10_000
        self.pending: dict[str, Order] = {}
        self._placed_during_candle: list[str] = []
        self._in_candle = False
        hub.subscribe(CandleDataProcessed, self._on_candle, Priority.VENUE)

    # -- Broker interface -------------------------------------------------------------------

    def submit(self, order: Order) -> None:
        now = self.clock.now_ms()
        problem = self._problem(order)
        if problem is not None:
            self.hub.publish(OrderRejected(order.symbol, problem, now, order.client_order_id))
            return
        self.pending[order.client_order_id] = order
        if self._in_candle:
            self._placed_during_candle.append(order.client_order_id)
        self.hub.publish(OrderAccepted(order.client_order_id, now, f"sim-{order.client_order_id}"))

    def cancel(self, client_order_id: str) -> None:
        if self.pending.pop(client_order_id, None) is not None:
            self.hub.publish(OrderCanceled(client_order_id, "canceled", self.clock.now_ms()))

    def _problem(self, order: Order) -> str | None:
        if order.symbol not in self.instruments:
            return f"unknown symbol {order.symbol}"
        if order.qty <= ZERO:
            return f"quantity {order.qty} is not positive"
        if order.type is not OrderType.MARKET and (order.price is None or order.price <= ZERO):
            return f"{order.type} order needs a positive price, got {order.price}"
        return None

    # -- matching ---------------------------------------------------------------------------

    def _on_candle(self, event: CandleDataProcessed) -> None:
        candle = event.candle
        if not self.pending or candle.timeframe_ms != self.timeframe_ms:
            return
        self._in_candle = True
        try:
            batch = [o for o in self.pending.values() if o.symbol == candle.symbol]
            while batch:
                batch.sort(key=lambda o: _RANK[o.type])
                for order in batch:
                    if order.client_order_id in self.pending:
                        self._match(order, candle)
                placed, self._placed_during_candle = self._placed_during_candle, []
                batch = [self.pending[i] for i in placed if i in self.pending]
        finally:
            self._in_candle = False
            self._placed_during_candle = []

    def _match(self, order: Order, candle: Candle) -> None:
        buy = order.side is Side.BUY
        if order.type is OrderType.MARKET:
            self._fill(order, candle, self._slipped(candle.open, buy))
            return
        assert order.price is not None
        level = float(order.price)
        if order.type is OrderType.STOP:
            if buy and candle.high >= level:
                self._fill(order, candle, self._slipped(max(level, candle.open), buy))
            elif not buy and candle.low <= level:
                self._fill(order, candle, self._slipped(min(level, candle.open), buy))
        elif buy and candle.low <= level:
            self._fill(order, candle, min(level, candle.open))
        elif not buy and candle.high >= level:
            self._fill(order, candle, max(level, candle.open))

    def next_possible_fill(
        self,
        symbol: str,
        highs: npt.NDArray[np.float64],
        lows: npt.NDArray[np.float64],
        start: int,
        stop: int,
    ) -> int:
        """The first candle index in [start, stop) at which a pending order of `symbol` could
        fill (by the rules of `_match`), or `stop`: backtests skip the candles before it."""
        first = stop
        for order in self.pending.values():
            if order.symbol != symbol:
                continue
            if order.type is OrderType.MARKET or order.price is None:
                return start
            level = float(order.price)
            buy = order.side is Side.BUY
            if buy is (order.type is OrderType.STOP):
                touched = highs[start:first] >= level
            else:
                touched = lows[start:first] <= level
            hit = int(touched.argmax()) if len(touched) else 0
            if len(touched) and touched[hit]:
                first = start + hit
        return first

    def _slipped(self, price: float, buy: bool) -> float:
        return price * (1 + self.slippage) if buy else price * (1 - self.slippage)

    def settle_at_close(self, candle: Candle) -> None:
        """Fill pending market orders at this candle's close (the end of a backtest)."""
        for order in list(self.pending.values()):
            if order.symbol == candle.symbol and order.type is OrderType.MARKET:
                self._fill(order, candle, self._slipped(candle.close, order.side is Side.BUY))

    def _fill(self, order: Order, candle: Candle, raw_price: float) -> None:
        instrument = self.instruments[order.symbol]
        price = instrument.round_price(to_decimal(raw_price))
        qty = order.remaining_qty
        del self.pending[order.client_order_id]
        kept, fee = ZERO, qty * price * self.fee_rate
        if instrument.spot and order.side is Side.BUY:  # the fee is taken from what was bought
            kept = instrument.kept_by_fee(qty, qty * self.fee_rate)
            fee = kept * price  # so that cash moves by exactly qty * price
        fill = Fill(
            client_order_id=order.client_order_id,
            symbol=order.symbol,
            side=order.side,
            qty=qty,
            price=price,
            fee=fee,
            time=candle.open_time,
            role=order.role,
            reason=order.reason,
            fee_qty=kept,
        )
        self.hub.publish(OrderFilled(fill))
