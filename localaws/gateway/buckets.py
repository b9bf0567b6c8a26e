"""Token buckets, the algorithm API Gateway throttles with.

"API Gateway throttles requests to your API using the token bucket algorithm, where a token
counts for a request" (Developer Guide, "Throttle requests to your REST APIs for better
throughput in API Gateway", api-gateway-request-throttling.html): the burst limit is the
bucket's size, the rate limit the tokens added per second. A bucket starts full.

A request passes only if every level it is checked at has a token (``BucketStore.take``
takes one from each, or none). Limits are read from the live configuration at every
request, so an UpdateUsagePlan or UpdateStage applies to the next request. The server tells
the store when a management write happened (``note_write``); a bucket whose limits differ
at its next use is refilled at its old rate up to that write, clamped to its new size (it
does not fill up because the size grew), and refilled at its new rate from the write on -
so a raised rate counts from the edit, not from the next request.

The clock is injectable (``BucketStore(clock=...)``) so tests can prove with a faked clock
that a bucket admits exactly ``burst`` requests at once and ``rate`` per second after.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass

Clock = Callable[[], float]


@dataclass(frozen=True)
class Limit:
    """A throttle: ``rate`` tokens per second into a bucket of ``burst`` tokens."""

    rate: float
    burst: int


class TokenBucket:
    __slots__ = ("limit", "tokens", "updated")

    def __init__(self, limit: Limit, now: float) -> None:
        self.limit = limit
        self.tokens = float(limit.burst)
        self.updated = now

    def _advance(self, moment: float) -> None:
        elapsed = max(0.0, moment - self.updated)
        self.tokens = min(float(self.limit.burst), self.tokens + elapsed * self.limit.rate)
        self.updated = max(self.updated, moment)

    def refill(self, now: float, limit: Limit, written: float | None) -> None:
        """Tokens as of ``now`` under ``limit``; ``written`` is when the configuration
        last changed (the new limit applies from then)."""
        if limit != self.limit:
            if written is not None and self.updated <= written <= now:
                self._advance(written)
            self.limit = limit
            self.tokens = min(self.tokens, float(limit.burst))
        self._advance(now)


class BucketStore:
    """Every bucket, keyed by level and the ids the level is counted per.

    Thread-safe; ``lock`` is exposed so a caller can make "take a token" and another
    decision (the quota) one atomic step.
    """

    def __init__(self, clock: Clock = time.monotonic) -> None:
        self.clock = clock
        self.lock = threading.RLock()
        self._buckets: dict[Hashable, TokenBucket] = {}
        self._written: float | None = None

    def note_write(self) -> None:
        """The configuration may have changed now (limits apply from this moment)."""
        with self.lock:
            self._written = self.clock()

    def available(self, levels: Sequence[tuple[Hashable, Limit]]) -> bool:
        """Whether every level has a token now (refilling them; taking none)."""
        with self.lock:
            now = self.clock()
            for key, limit in levels:
                bucket = self._buckets.get(key)
                if bucket is None:
                    bucket = self._buckets[key] = TokenBucket(limit, now)
                else:
                    bucket.refill(now, limit, self._written)
                if bucket.tokens < 1.0:
                    return False
            return True

    def take(self, levels: Sequence[tuple[Hashable, Limit]]) -> bool:
        """One token from every level, or (when one has none) from no level."""
        with self.lock:
            if not self.available(levels):
                return False
            for key, _ in levels:
                self._buckets[key].tokens -= 1.0
            return True

    def tokens(self, key: Hashable) -> float | None:
        """Tokens left in one bucket as of its last use (None: never used)."""
        with self.lock:
            bucket = self._buckets.get(key)
            return None if bucket is None else bucket.tokens

    def reset(self) -> None:
        with self.lock:
            self._buckets.clear()
            self._written = None
