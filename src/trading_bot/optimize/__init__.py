"""Strategy optimization and walk-forward analysis: many deterministic backtests of one
strategy over a parameter space, on a local process pool or a Ray cluster."""
