"""The deterministic core: events, the event hub, the clock and the domain model.

Nothing in here imports from the rest of the package, and nothing in here does I/O.
"""
