"""Notifiers: tell people what the bot does."""
