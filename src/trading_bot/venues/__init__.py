"""Venues: market data feeds and broker clients behind one small interface."""
