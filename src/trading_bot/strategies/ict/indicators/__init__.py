"""Causal smart-money indicators: each has a vectorized batch form over a whole frame and an
incremental form updated one closed candle at a time, and both agree on every bar.

Batch forms take a frame with `open`, `high`, `low`, `close` columns on a time index and mark
each structure at its bar together with the bar position at which it became known.
"""

from trading_bot.strategies.ict.indicators.fvg import Fvg, FvgTracker, fvg
from trading_bot.strategies.ict.indicators.liquidity import (
    EqualLevelsTracker,
    LiquidityTracker,
    equal_highs_lows,
    liquidity_levels,
    sweeps,
)
from trading_bot.strategies.ict.indicators.order_blocks import (
    OrderBlock,
    OrderBlockTracker,
    order_blocks,
)
from trading_bot.strategies.ict.indicators.ranges import (
    DealingRangeTracker,
    ote_bounds,
    premium_discount,
)
from trading_bot.strategies.ict.indicators.sessions import (
    FOREX_DAY,
    KILLZONES,
    UTC_DAY,
    Killzone,
    Killzones,
    PreviousLevelsTracker,
    TradingDay,
    killzone,
    killzone_of,
    previous_levels,
)
from trading_bot.strategies.ict.indicators.structure import (
    AtrTracker,
    DisplacementTracker,
    StructureTracker,
    atr,
    displacement,
    market_structure,
)
from trading_bot.strategies.ict.indicators.swings import Swing, SwingTracker, swing_highs_lows

__all__ = [
    "FOREX_DAY",
    "KILLZONES",
    "UTC_DAY",
    "AtrTracker",
    "DealingRangeTracker",
    "DisplacementTracker",
    "EqualLevelsTracker",
    "Fvg",
    "FvgTracker",
    "Killzone",
    "Killzones",
    "LiquidityTracker",
    "OrderBlock",
    "OrderBlockTracker",
    "PreviousLevelsTracker",
    "StructureTracker",
    "Swing",
    "SwingTracker",
    "TradingDay",
    "atr",
    "displacement",
    "equal_highs_lows",
    "fvg",
    "killzone",
    "killzone_of",
    "liquidity_levels",
    "market_structure",
    "order_blocks",
    "ote_bounds",
    "premium_discount",
    "previous_levels",
    "sweeps",
    "swing_highs_lows",
]
