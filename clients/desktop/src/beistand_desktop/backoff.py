"""Reconnect and retry delays: 1 s, 2 s, 4 s … at most 30 s, with jitter (alarm protocol)."""

from __future__ import annotations

import random


class Backoff:
    def __init__(self, first: float = 1.0, maximum: float = 30.0, jitter: float = 0.2,
                 rng: random.Random | None = None):
        self.first = first
        self.maximum = maximum
        self.jitter = jitter
        self.attempt = 0
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not a secret

    def base(self) -> float:
        return min(self.maximum, self.first * (2 ** self.attempt))

    def next_delay(self) -> float:
        """The delay before the next attempt; each call doubles the base (up to maximum)."""
        base = self.base()
        self.attempt += 1
        spread = base * self.jitter
        return max(0.0, min(self.maximum, base + self._rng.uniform(-spread, spread)))

    def reset(self) -> None:
        self.attempt = 0
