from decimal import Decimal

from trading_bot.core.events import (
    CandleDataProcessed,
    OrderFilled,
    OrderRejected,
    OrderRequestGenerated,
    RiskLimitHit,
    TradingPaused,
    TradingSignalGenerated,
)
from trading_bot.core.model import Candle, Direction, Instrument, Signal

from .conftest import HOUR, SYMBOL, Driver, MakeDriver

LONG, SHORT = Direction.LONG, Direction.SHORT


def test_size_from_the_stop_distance(make_driver: MakeDriver) -> None:
    d = make_driver({0: (LONG, 98.0, None)}, risk_per_trade_pct=2)
    d.candle(100, 100, 100, 100)
    d.candle(100, 100, 100, 100)
    (fill,) = [e.fill for e in d.of(OrderFilled) if e.fill.role.value == "entry"]
    assert fill.qty == Decimal("100.000")  # 2% of 10,000 = 200 over a 2.0 stop distance


def test_position_notional_cap(make_driver: MakeDriver) -> None:
    d = make_driver({0: (LONG, None, None)}, position_size_pct=100, max_position_notional=1500)
    d.candle(100, 100, 100, 100)
    d.candle(100, 100, 100, 100)
    assert d.of(OrderFilled)[0].fill.qty == Decimal("15.000")


def test_too_small_a_position_is_rejected_with_the_rule(make_driver: MakeDriver) -> None:
    instrument = Instrument(SYMBOL, Decimal("0.01"), Decimal("1"), Decimal(1), Decimal(5000))
    d = make_driver({0: (LONG, None, None)}, instrument=instrument, position_size_pct=10)
    d.candle(100, 100, 100, 100)
    (rejected,) = d.of(OrderRejected)
    assert "position too small" in rejected.reason and "below the minimum 5000" in rejected.reason


def test_pause_blocks_entries_but_not_exits(make_driver: MakeDriver) -> None:
    d = make_driver({0: (LONG, None, None), 2: (Direction.FLAT, None, None)})
    d.candle(100, 100, 100, 100)
    d.candle(100, 100, 100, 100)
    d.pipeline.risk.pause("from a test")
    d.candle(100, 100, 100, 100)
    d.candle(100, 100, 100, 100)
    assert [e.reason for e in d.of(TradingPaused)] == ["from a test"]
    assert d.pipeline.portfolio.open_position_count() == 0
    d.pipeline.strategy.plan[4] = (LONG, None, None)  # type: ignore[attr-defined]
    d.candle(100, 100, 100, 100)
    assert "trading is paused (from a test)" in d.of(OrderRejected)[-1].reason


def test_daily_loss_kill_switch_blocks_entries_until_the_next_utc_day(
    make_driver: MakeDriver,
) -> None:
    plan = {0: (LONG, None, None), 2: (Direction.FLAT, None, None), 3: (LONG, None, None)}
    plan[25] = (LONG, None, None)
    d = make_driver(plan, position_size_pct=100, max_daily_loss_pct=5)
    d.candle(100, 100, 100, 100)
    d.candle(100, 100, 100, 100)
    d.candle(100, 100, 90, 90)  # equity -10%: the switch fires
    (hit,) = d.of(RiskLimitHit)
    assert hit.limit == "max_daily_loss" and hit.until == 24 * HOUR
    d.candle(90, 90, 90, 90)  # the FLAT exit still fills; the new entry is refused
    assert "daily loss limit hit" in d.of(OrderRejected)[-1].reason
    while d.index < 27:
        d.candle(90, 90, 90, 90)
    assert d.pipeline.portfolio.open_position_count() == 1  # the next day trades again


def test_max_open_positions_counts_a_position_being_reversed_as_closing(
    make_driver: MakeDriver,
) -> None:
    d = make_driver({0: (LONG, None, None), 2: (SHORT, None, None)}, max_open_positions=1)
    for _ in range(4):
        d.candle(100, 100, 100, 100)
    position = d.pipeline.portfolio.position(SYMBOL)
    assert position is not None and position.direction is SHORT
    assert d.of(OrderRejected) == []


def test_short_entries_can_be_disabled(make_driver: MakeDriver) -> None:
    d = make_driver({0: (SHORT, None, None)}, allow_short=False)
    d.candle(100, 100, 100, 100)
    assert "short entries are disabled" in d.of(OrderRejected)[0].reason


def test_entries_from_candles_that_closed_too_long_ago_are_refused_but_exits_go(
    make_driver: MakeDriver,
) -> None:
    """After downtime a live feed catches up on missed candles: their entries are history."""
    plan = {0: (LONG, None, None), 2: (Direction.FLAT, None, None), 3: (LONG, None, None)}
    d = make_driver(plan, max_signal_age_s=60)
    d.candle(100, 100, 100, 100)
    d.candle(100, 100, 100, 100)  # the entry fills at this open
    assert d.pipeline.portfolio.open_position_count() == 1
    d.clock.advance_to(6 * HOUR)  # the bot was down; now it catches up on candles 2 and 3
    for index in (2, 3):
        late = Candle(SYMBOL, HOUR, index * HOUR, 100, 100, 100, 100, 1.0)
        d.pipeline.hub.publish(CandleDataProcessed(late))
    assert d.pipeline.portfolio.open_position_count() == 0  # the FLAT exit went
    (rejected,) = d.of(OrderRejected)  # candle 3 closed at 4 h: two hours before "now"
    assert "closed 7200 s ago" in rejected.reason and "max_signal_age_s" in rejected.reason


def test_a_repeated_signal_does_not_open_a_second_position_while_its_entry_is_under_way(
    make_driver: MakeDriver,
) -> None:
    """Live, a fill comes after the venue answers: candles caught up in a burst can repeat a
    signal before its market entry has filled."""
    d = make_driver({})
    d.candle(100, 100, 100, 100)
    hub, time = d.pipeline.hub, d.clock.now_ms()
    for direction in (LONG, LONG, SHORT):  # no fill between them, as in a burst
        hub.publish(TradingSignalGenerated(Signal(SYMBOL, direction, time, 100.0)))
    (refused,) = d.of(OrderRejected)
    assert refused.reason == f"an entry in {SYMBOL} is still being carried out"
    d.candle(100, 100, 100, 100)
    entries = [e.fill for e in d.of(OrderFilled) if e.fill.role.value == "entry"]
    assert len(entries) == 1 and entries[0].side.value == "buy"
    assert d.pipeline.portfolio.open_position_count() == 1


def test_a_new_pause_reason_replaces_the_old_one_and_is_announced(
    make_driver: MakeDriver,
) -> None:
    d = make_driver({})
    risk = d.pipeline.risk
    risk.pause("reconciliation: the account holds 0.1 BTC")
    risk.pause("reconciliation: the account holds 0.1 BTC")  # the same: no news
    risk.pause("reconciliation: the account holds 0.2 BTC")
    assert risk.pause_reason == "reconciliation: the account holds 0.2 BTC"
    assert [e.reason[-7:] for e in d.of(TradingPaused)] == ["0.1 BTC", "0.2 BTC"]


def test_two_exits_of_one_position_never_reverse_it(make_driver: MakeDriver) -> None:
    """A signal repeated while the exit it asked for is still under way (live: before its fill
    comes back) sends no second exit, which would reverse the position."""
    d = make_driver({0: (LONG, None, None)})
    d.candle(100, 100, 100, 100)
    d.candle(100, 100, 100, 100)  # the entry fills
    position = d.pipeline.portfolio.position(SYMBOL)
    assert position is not None and position.qty > 0
    hub, time = d.pipeline.hub, d.clock.now_ms()
    for _ in range(2):  # two exits before any fill
        hub.publish(TradingSignalGenerated(Signal(SYMBOL, Direction.FLAT, time, 100.0)))
    exits = [o for o in d.pipeline.execution.open_orders(SYMBOL) if o.role.value == "exit"]
    assert [o.qty for o in exits] == [position.qty]
    d.candle(100, 100, 100, 100)
    assert d.pipeline.portfolio.open_position_count() == 0  # flat, not short


SPOT = Instrument(SYMBOL, Decimal("0.01"), Decimal("0.001"), spot=True)


def _signal_in(d: Driver, symbol: str, price: float) -> None:
    """A long signal without a stop in another spot market, at the driver's clock."""
    d.pipeline.risk.instruments[symbol] = Instrument(symbol, lot_step=Decimal("0.001"), spot=True)
    signal = Signal(symbol, LONG, d.clock.now_ms(), price, None, None, "other market")
    d.pipeline.hub.publish(TradingSignalGenerated(signal))


def _asked(d: Driver, symbol: str) -> Decimal:
    (request,) = [e.request for e in d.of(OrderRequestGenerated) if e.request.symbol == symbol]
    return request.qty


def test_a_spot_buy_keeps_room_for_its_fee_and_the_price_moving(make_driver: MakeDriver) -> None:
    d = make_driver({0: (LONG, None, None)}, fee_rate=0.001, instrument=SPOT, position_size_pct=100)
    d.candle(100, 100, 100, 100)
    d.candle(100, 100, 100, 100)
    (fill,) = [e.fill for e in d.of(OrderFilled)]
    assert fill.qty == Decimal("99.502")  # 10,000 / (100 x 1.005), down to the lot step
    assert d.pipeline.portfolio.cash >= 0


def test_a_spot_buy_is_paid_from_cash_not_committed_to_buys_under_way(
    make_driver: MakeDriver,
) -> None:
    plan = {0: (LONG, None, None, 90.0, 5)}  # a limit buy at 90 rests: the price stays at 100
    d = make_driver(plan, instrument=SPOT, position_size_pct=50)
    d.candle(100, 100, 100, 100)
    assert _asked(d, SYMBOL) == Decimal("55.555")  # 5,000 / 90: 4,999.95 committed
    _signal_in(d, "OTHER/USD", 100.0)
    assert _asked(d, "OTHER/USD") == Decimal("49.751")  # 5,000.05 free / (100 x 1.005)


def test_a_spot_buy_without_cash_is_refused_with_the_figures(make_driver: MakeDriver) -> None:
    d = make_driver(
        {0: (LONG, None, None)}, instrument=SPOT, position_size_pct=100, spot_cash_buffer_pct=0
    )
    d.candle(100, 100, 100, 100)
    d.candle(100, 100, 100, 100)  # all the cash bought 100 units
    _signal_in(d, "OTHER/USD", 100.0)
    (rejected,) = d.of(OrderRejected)
    assert rejected.reason == (
        "no cash left for a buy: 0.00 in cash, 0.00 of it committed to buys under way"
    )


def test_markets_with_borrowing_are_sized_from_equity_alone(make_driver: MakeDriver) -> None:
    d = make_driver({0: (LONG, None, None)}, fee_rate=0.001, position_size_pct=100)
    d.candle(100, 100, 100, 100)
    d.candle(100, 100, 100, 100)
    assert d.of(OrderFilled)[0].fill.qty == Decimal("100.000")
