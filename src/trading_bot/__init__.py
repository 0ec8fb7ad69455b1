"""trading-bot: an asynchronous, event-driven automated trading bot."""

__version__ = "0.1.0"
