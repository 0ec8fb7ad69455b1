"""Portfolio: positions, PnL and equity."""
