"""Strategies: they read closed candles and emit signals; they never call a venue."""
