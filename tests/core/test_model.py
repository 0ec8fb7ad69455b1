from decimal import Decimal

from trading_bot.core.clock import SimulatedClock, day_start_ms, ms_to_iso
from trading_bot.core.model import Instrument, to_decimal


def test_prices_round_to_tick_and_quantities_down_to_lot_step() -> None:
    instrument = Instrument(
        "BTC/USDT", Decimal("0.01"), Decimal("0.001"), Decimal("0.001"), Decimal(10)
    )
    assert instrument.round_price(Decimal("100.005")) == Decimal("100.00")
    assert instrument.round_price(Decimal("100.015")) == Decimal("100.02")
    assert instrument.round_qty(Decimal("0.0129")) == Decimal("0.012")


def test_order_size_problems_name_the_rule() -> None:
    instrument = Instrument("X", Decimal("0.01"), Decimal("0.001"), Decimal("0.01"), Decimal(10))
    assert "rounds to zero" in str(instrument.order_size_problem(Decimal(0), Decimal(5)))
    assert "below the minimum 0.01" in str(
        instrument.order_size_problem(Decimal("0.005"), Decimal(5))
    )
    assert "notional" in str(instrument.order_size_problem(Decimal("1"), Decimal(5)))
    assert instrument.order_size_problem(Decimal("3"), Decimal(5)) is None


def test_to_decimal_uses_the_printed_float() -> None:
    assert to_decimal(1.1) == Decimal("1.1")
    assert to_decimal(3) == Decimal(3)


def test_simulated_clock_never_goes_back() -> None:
    clock = SimulatedClock(1000)
    clock.advance_to(500)
    assert clock.now_ms() == 1000
    clock.advance_to(2000)
    assert clock.now_ms() == 2000


def test_iso_and_day_start() -> None:
    assert ms_to_iso(1_609_459_200_000) == "2021-01-01T00:00:00Z"
    assert day_start_ms(1_609_459_200_000 + 3_600_000) == 1_609_459_200_000
