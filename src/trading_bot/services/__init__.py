"""Periodic services at the edge of the bot: the scheduler, news, the economic calendar,
price scanning and housekeeping. They publish events into the core and never block its loop."""
