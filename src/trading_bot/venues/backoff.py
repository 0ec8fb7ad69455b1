"""Reconnection pacing shared by every venue's streams."""

from __future__ import annotations

import random


class Backoff:
    """Exponential backoff with jitter: `initial_s` doubling up to `max_s`, each wait scaled by
    a random factor in [0.5, 1) so that many clients do not reconnect in step."""

    def __init__(self, initial_s: float, max_s: float, rng: random.Random | None = None) -> None:
        self._initial = initial_s
        self._max = max_s
        self._rng = rng or random.Random()
        self._failures = 0

    def next(self) -> float:
        ceiling = min(self._max, self._initial * 2.0 ** min(self._failures, 32))
        self._failures += 1
        return ceiling * (0.5 + self._rng.random() / 2)

    def reset(self) -> None:
        self._failures = 0
