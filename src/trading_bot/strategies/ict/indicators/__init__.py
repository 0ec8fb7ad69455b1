"""Causal smart-money indicators: each has a vectorized batch form over a whole frame and an
incremental form updated one closed candle at a time, and both agree on every bar."""
