"""Backtests: the runner replays history through the live pipeline; results, metrics and
reports (JSON, HTML, terminal) describe what happened."""
