"""Settings of the core components, validated by pydantic.

Frozen, and unknown keys are errors: a typo in a configuration key must never become a silent
default; so are NaN and infinite numbers (`starting_cash = inf` is no amount of money). The
configuration file composes these sections (see `trading_bot.config`).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


class InstrumentSettings(Section):
    """Venue rules for the traded symbol when the venue does not provide them (replay, files)."""

    tick_size: Decimal = Field(Decimal("0.00001"), gt=0, description="smallest price increment")
    lot_step: Decimal = Field(Decimal("0.00001"), gt=0, description="smallest quantity increment")
    min_qty: Decimal = Field(Decimal(0), ge=0, description="smallest order quantity")
    min_notional: Decimal = Field(Decimal(0), ge=0, description="smallest order value (quote)")
    spot: bool = Field(
        False, description="buys are paid in full from cash, as on a spot venue: sized to fit it"
    )


class StrategySettings(Section):
    name: str = Field("sma_cross", description="built-in name, or 'module:Class' / 'file.py:Class'")
    params: dict[str, Any] = Field(default_factory=dict, description="the strategy's parameters")


class RiskSettings(Section):
    risk_per_trade_pct: float = Field(
        1.0, gt=0, le=100, description="% of equity lost if a signal's stop is hit"
    )
    position_size_pct: float = Field(
        10.0, gt=0, le=1000, description="position value as % of equity when a signal has no stop"
    )
    max_position_notional: float | None = Field(
        None, gt=0, description="largest position value in the quote currency (none: no cap)"
    )
    max_leverage: float = Field(
        1.0, gt=0, description="largest position value as a multiple of equity (1: no leverage)"
    )
    max_open_positions: int = Field(5, ge=1, description="most positions open at once")
    spot_cash_buffer_pct: float = Field(
        0.5,
        ge=0,
        le=50,
        description="on spot markets, the % of a buy's cost kept free for its fee and for the "
        "price moving before a market order fills",
    )
    max_daily_loss_pct: float | None = Field(
        5.0,
        gt=0,
        le=100,
        description="kill switch: no new entries for the rest of the UTC day past this loss",
    )
    allow_short: bool = Field(True, description="whether short signals may open positions")
    max_signal_age_s: float = Field(
        60.0,
        ge=0,
        description="no entry from a candle that closed longer ago than this (candles caught up "
        "after downtime); exits always go; 0: no limit",
    )


class ExecutionSettings(Section):
    fee_rate: float = Field(0.001, ge=0, lt=1, description="fee per fill as a fraction of value")
    slippage_bps: float = Field(
        0.0, ge=0, le=1000, description="adverse slippage of market and stop fills, basis points"
    )


class PortfolioSettings(Section):
    starting_cash: float = Field(10_000.0, gt=0, description="cash at the first start")


class PipelineSettings(Section):
    """Everything the trading pipeline needs, the same for backtest, paper and live."""

    strategy: StrategySettings = StrategySettings()
    risk: RiskSettings = RiskSettings()
    execution: ExecutionSettings = ExecutionSettings()
    portfolio: PortfolioSettings = PortfolioSettings()
    instrument: InstrumentSettings = InstrumentSettings()
