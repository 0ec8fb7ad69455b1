"""The outcome of one backtest run, and its JSON form.

JSON writes `Decimal` prices, quantities, PnL and fees as plain numbers (float64): the readers of
these files (browsers, pandas, jq) have no decimal type, and float64 keeps the 15 significant
digits a price or a quantity has. Times are ISO-8601 UTC strings ending in Z. Non-finite metrics
(no losing trade, zero variance) are null, since JSON has no NaN or Infinity.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import orjson
from numpy.typing import NDArray

from trading_bot.backtest.metrics import Metrics, format_metrics, format_number
from trading_bot.core.clock import ms_to_iso
from trading_bot.core.model import Trade

SYNTHETIC_LABEL = "SYNTHETIC DATA"

_TIMEFRAME_UNITS = (
    ("w", 604_800_000),
    ("d", 86_400_000),
    ("h", 3_600_000),
    ("m", 60_000),
    ("s", 1_000),
)


@dataclass(slots=True)
class BacktestResult:
    """Everything a report needs. Arrays hold one value per bar: `times` the candle open time
    (epoch ms), `equity` the equity after the bar's close, `exposure` whether a position was
    open at that close. `synthetic` marks generated sample data; every output says so.
    `metrics` come from `compute_metrics` over these arrays and trades."""

    strategy: str
    params: dict[str, Any]
    symbol: str
    timeframe_ms: int
    bars: int
    elapsed_s: float
    start_equity: float
    final_equity: float
    trades: list[Trade]
    times: NDArray[np.int64]
    close: NDArray[np.float64]
    equity: NDArray[np.float64]
    exposure: NDArray[np.bool_]
    synthetic: bool
    metrics: Metrics

    @property
    def timeframe(self) -> str:
        """A label such as 1h, 15m or 1d: the largest unit that divides the timeframe evenly."""
        for unit, unit_ms in _TIMEFRAME_UNITS:
            if self.timeframe_ms % unit_ms == 0:
                return f"{self.timeframe_ms // unit_ms}{unit}"
        return f"{self.timeframe_ms}ms"

    @property
    def headline(self) -> str:
        """What ran on what: `sma_cross(fast=10, slow=30) · BTCUSDT 1h`."""
        params = ", ".join(f"{name}={value}" for name, value in self.params.items())
        return f"{self.strategy}({params}) · {self.symbol} {self.timeframe}"

    def summary_rows(self) -> list[tuple[str, str]]:
        """(label, text) rows of the run and its metrics, shared by the terminal and the report."""
        speed = self.bars / self.elapsed_s if self.elapsed_s > 0 else math.inf
        return [
            ("Period", f"{ms_to_iso(int(self.times[0]))} → {ms_to_iso(int(self.times[-1]))}"),
            ("Bars", f"{self.bars:,}"),
            ("Start equity", f"{self.start_equity:,.2f}"),
            ("Final equity", f"{self.final_equity:,.2f}"),
            *format_metrics(self.metrics),
            ("Elapsed", f"{self.elapsed_s:.3f} s"),
            ("Speed", format_number(speed, ",.0f", " bars/s")),
        ]

    def to_json_dict(self) -> dict[str, Any]:
        return {
            "strategy": self.strategy,
            "params": self.params,
            "symbol": self.symbol,
            "timeframe": self.timeframe,
            "synthetic": self.synthetic,
            "bars": self.bars,
            "elapsed_s": float(self.elapsed_s),
            "start_equity": float(self.start_equity),
            "final_equity": float(self.final_equity),
            "metrics": {
                name: value if math.isfinite(value) else None
                for name, value in asdict(self.metrics).items()
            },
            "trades": [_trade_json(trade) for trade in self.trades],
        }


def write_json(result: BacktestResult, path: Path) -> None:
    path.write_bytes(
        orjson.dumps(
            result.to_json_dict(),
            default=_decimal_to_float,
            option=orjson.OPT_INDENT_2 | orjson.OPT_SERIALIZE_NUMPY,
        )
    )


def _trade_json(trade: Trade) -> dict[str, Any]:
    return {
        "side": trade.side.value,
        "entry_time": ms_to_iso(trade.entry_time),
        "exit_time": ms_to_iso(trade.exit_time),
        "entry_price": float(trade.entry_price),
        "exit_price": float(trade.exit_price),
        "qty": float(trade.qty),
        "pnl": float(trade.pnl),
        "fees": float(trade.fees),
        "exit_reason": trade.exit_reason,
        "entry_reason": trade.entry_reason,
    }


def _decimal_to_float(value: object) -> float:
    """orjson's fallback for strategy parameters given as `Decimal`."""
    if isinstance(value, Decimal):
        return float(value)
    raise TypeError(f"cannot write {type(value).__name__} to JSON")
