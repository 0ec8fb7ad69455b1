from decimal import Decimal

from trading_bot.core.clock import SimulatedClock
from trading_bot.core.events import EquityUpdated, OrderFilled, PositionClosed
from trading_bot.core.hub import EventHub
from trading_bot.core.model import Fill, OrderRole, Side
from trading_bot.portfolio.manager import PortfolioManager

D = Decimal


def book(*fills: Fill) -> tuple[PortfolioManager, list[PositionClosed]]:
    hub = EventHub()
    portfolio = PortfolioManager(hub, SimulatedClock(), 1000.0, 60_000)
    closed: list[PositionClosed] = []
    hub.subscribe(PositionClosed, closed.append)
    for fill in fills:
        hub.publish(OrderFilled(fill))
    return portfolio, closed


def fill(
    side: Side, qty: str, price: str, fee: str = "0", role: OrderRole = OrderRole.ENTRY
) -> Fill:
    return Fill("id", "X", side, D(qty), D(price), D(fee), 0, role, "test")


def test_long_round_trip_pnl_is_net_of_entry_and_exit_fees() -> None:
    portfolio, closed = book(
        fill(Side.BUY, "2", "100", "0.2"), fill(Side.SELL, "2", "110", "0.22", OrderRole.EXIT)
    )
    (event,) = closed
    assert event.trade.pnl == D("19.58")
    assert event.trade.fees == D("0.42")
    assert portfolio.cash == D("1019.58")
    assert portfolio.open_position_count() == 0


def test_short_pnl_and_average_price_of_added_entries() -> None:
    portfolio, closed = book(
        fill(Side.SELL, "1", "100"),
        fill(Side.SELL, "1", "110"),
        fill(Side.BUY, "2", "90", role=OrderRole.EXIT),
    )
    assert closed[0].trade.entry_price == D("105")
    assert closed[0].trade.pnl == D("30")
    assert portfolio.cash == D("1030")


def test_partial_close_apportions_entry_fees() -> None:
    portfolio, closed = book(fill(Side.BUY, "4", "10", "4"), fill(Side.SELL, "1", "12", "1"))
    assert closed[0].trade.qty == D(1)
    assert closed[0].trade.fees == D("2")  # a quarter of the entry fee + the exit fee
    assert closed[0].trade.pnl == D("0")
    position = portfolio.position("X")
    assert position is not None and position.qty == D(3) and position.entry_fees == D(3)


def test_one_fill_through_zero_closes_and_opens_the_other_side() -> None:
    portfolio, closed = book(fill(Side.BUY, "1", "100"), fill(Side.SELL, "3", "120"))
    assert closed[0].trade.pnl == D("20")
    position = portfolio.position("X")
    assert position is not None and position.qty == D(-2) and position.avg_price == D(120)


def test_equity_marks_open_positions_to_the_close() -> None:
    from trading_bot.core.events import CandleDataProcessed
    from trading_bot.core.model import Candle

    hub = EventHub()
    portfolio = PortfolioManager(hub, SimulatedClock(), 1000.0, 60_000)
    equity: list[EquityUpdated] = []
    hub.subscribe(EquityUpdated, equity.append)
    hub.publish(OrderFilled(Fill("a", "X", Side.SELL, D(2), D(100), D(0), 0, OrderRole.ENTRY)))
    hub.publish(CandleDataProcessed(Candle("X", 60_000, 0, 100, 100, 90, 90)))
    assert equity[-1].equity == 1020.0
    assert equity[-1].time == 60_000
    assert portfolio.equity == 1020.0
