"""Execution: the order state machine and the simulated broker."""
