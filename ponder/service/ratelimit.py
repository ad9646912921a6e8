"""Token buckets: the per-key request limit and the per-client limit on failed authentication."""

from __future__ import annotations

import threading
import time


class RateLimiter:
    """A token bucket per name: ``burst`` requests at once, refilled at ``per_minute``
    (``per_minute = 0`` disables it)."""

    #: buckets kept at most; beyond it, full ones (indistinguishable from new) are dropped, so
    #: many client addresses cannot grow the table without bound
    MAX_BUCKETS = 100_000

    def __init__(self, per_minute: float, burst: int):
        self.rate = per_minute / 60.0
        self.burst = burst
        self._lock = threading.Lock()
        self._buckets: dict[str, tuple[float, float]] = {}

    def _tokens(self, key: str, now: float) -> float:
        tokens, last = self._buckets.get(key, (float(self.burst), now))
        return min(self.burst, tokens + (now - last) * self.rate)

    def take(self, key: str) -> float:
        """Take a token: 0 if allowed, else the seconds to wait."""
        if self.rate <= 0:
            return 0.0
        now = time.monotonic()
        with self._lock:
            if len(self._buckets) >= self.MAX_BUCKETS:
                self._buckets = {k: v for k, v in self._buckets.items() if self._tokens(k, now) < self.burst}
            tokens = self._tokens(key, now)
            if tokens >= 1:
                self._buckets[key] = (tokens - 1, now)
                return 0.0
            self._buckets[key] = (tokens, now)
            return (1 - tokens) / self.rate

    def wait(self, key: str) -> float:
        """Like :meth:`take` but takes nothing: the seconds until a token is free (0: now)."""
        if self.rate <= 0:
            return 0.0
        with self._lock:
            tokens = self._tokens(key, time.monotonic())
        return 0.0 if tokens >= 1 else (1 - tokens) / self.rate
