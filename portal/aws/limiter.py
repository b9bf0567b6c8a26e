"""One budget for API Gateway management calls, shared by every worker.

AWS limits the API Gateway management API per account and region; a throttled call fails with
TooManyRequestsException. Every API Gateway call goes through `acquire(operation)` (a botocore
hook in portal/aws/clients.py), which takes one token from the "all" bucket and, if the operation
has a budget of its own, one from that bucket too — from none unless all allow.

Two backends share the interface: Redis (settings.REDIS_URL set: one atomic Lua script, so every
worker process on every host shares the budget) and local (a lock in this process: the embedded
default, where one worker process with threads makes the sync calls).
"""

from __future__ import annotations

import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Final

import redis
from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver

from portal.errors import TransientSyncError

ALL: Final = "all"
KEY_PREFIX: Final = "tollgate:limiter:"
# Float arithmetic may leave 0.9999999999999998 tokens after waiting exactly the time asked for.
EPSILON: Final = 1e-9


@dataclass(frozen=True)
class Budget:
    """A token bucket: `rate` tokens per second, holding at most `burst`."""

    rate: float
    burst: int

    def __post_init__(self) -> None:
        if self.rate <= 0 or self.burst < 1:
            raise ValueError(f"a budget needs rate > 0 and burst >= 1, not {self!r}")

    def __str__(self) -> str:
        if self.rate >= 1:
            return f"{self.rate:g}/s"
        return f"1 per {1 / self.rate:g} s"


# Fixed quotas of the API Gateway management API, per account and region; see "API Gateway
# quotas for creating, deploying and managing an API" and the account-level management rate in
# https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html
# "all" applies to every call; an operation listed here is limited by its own budget as well.
# An account with raised quotas overrides entries with settings.TOLLGATE["AWS_RATE_LIMITS"].
AWS_RATE_LIMITS: Final[Mapping[str, Budget]] = MappingProxyType(
    {
        ALL: Budget(rate=10.0, burst=40),
        "CreateApiKey": Budget(rate=5.0, burst=5),
        "DeleteApiKey": Budget(rate=5.0, burst=5),
        "UpdateUsagePlan": Budget(rate=1 / 20, burst=1),
    }
)


def configured_budgets() -> dict[str, Budget]:
    """AWS_RATE_LIMITS with settings.TOLLGATE["AWS_RATE_LIMITS"] laid over it.

    Each override is a Budget or a mapping {"rate": per second, "burst": n}; None removes a
    budget (the "all" bucket cannot be removed, only raised).
    """
    budgets = dict(AWS_RATE_LIMITS)
    overrides: Mapping[str, Any] = getattr(settings, "TOLLGATE", {}).get("AWS_RATE_LIMITS") or {}
    for name, value in overrides.items():
        if value is None and name != ALL:
            budgets.pop(name, None)
        elif isinstance(value, Budget):
            budgets[name] = value
        else:
            budgets[name] = Budget(rate=float(value["rate"]), burst=int(value["burst"]))
    return budgets


class RateBudgetWait(TransientSyncError):
    """The call must wait longer than a worker should block: retry the task after `retry_after`."""

    def __init__(self, operation: str, retry_after: float, budget: str = "") -> None:
        self.operation = operation
        self.retry_after = retry_after
        self.budget = budget or operation
        super().__init__(f"Waiting for the AWS rate budget ({self.budget})")

    def __reduce__(self) -> tuple[Any, ...]:  # picklable, for Celery's retry machinery
        return (type(self), (self.operation, self.retry_after, self.budget))


class RateLimiter(ABC):
    def __init__(
        self,
        budgets: Mapping[str, Budget] | None = None,
        *,
        clock: Callable[[], float],
        sleep: Callable[[float], None] = time.sleep,
        max_inline_wait: float = 1.0,
    ) -> None:
        self.budgets: Mapping[str, Budget] = dict(
            configured_budgets() if budgets is None else budgets
        )
        if ALL not in self.budgets:
            raise ValueError(f"the {ALL!r} budget is required")
        self.clock = clock
        self.sleep = sleep
        self.max_inline_wait = max_inline_wait

    def buckets(self, operation: str) -> list[tuple[str, Budget]]:
        found = [(ALL, self.budgets[ALL])]
        if operation != ALL and operation in self.budgets:
            found.append((operation, self.budgets[operation]))
        return found

    def describe(self, bucket: str) -> str:
        budget = self.budgets[bucket]
        return f"all API Gateway calls: {budget}" if bucket == ALL else f"{bucket}: {budget}"

    def reserve(self, operation: str, *, scope: str = "") -> float:
        """0.0 if the call may go now (its tokens are taken), else seconds to wait (none taken)."""
        return self._reserve(self.buckets(operation), self.clock(), scope_of(scope))[0]

    def acquire(self, operation: str, *, scope: str = "") -> None:
        """Take the tokens for one call in `scope` (an account and region: Location.budget_scope;
        blank: the process's own account in AWS_REGION), sleeping up to `max_inline_wait` in
        all for them. Each scope has buckets of its own, as AWS's quotas are per account and
        region.

        Raises RateBudgetWait if the budget frees up later than that: a worker thread should
        not block for seconds, the task retries after `retry_after` instead.
        """
        scope = scope_of(scope)
        waited = 0.0
        while True:
            wait, bucket = self._reserve(self.buckets(operation), self.clock(), scope)
            if wait <= 0:
                return
            if waited + wait > self.max_inline_wait:
                raise RateBudgetWait(operation, wait, self.describe(bucket))
            self.sleep(wait)
            waited += wait

    @abstractmethod
    def _reserve(
        self, buckets: list[tuple[str, Budget]], now: float, scope: str
    ) -> tuple[float, str]:
        """Take one token from every bucket of `scope` or from none: (0, "") or (wait,
        limiting bucket)."""


def scope_of(scope: str) -> str:
    return scope or settings.AWS_REGION


def _refill(tokens: float, stamp: float, budget: Budget, now: float) -> tuple[float, float]:
    # A clock that goes back (another host's, with Redis) refills nothing and never moves the
    # stamp back, so skew cannot mint tokens.
    if now > stamp:
        return min(float(budget.burst), tokens + (now - stamp) * budget.rate), now
    return tokens, stamp


class LocalRateLimiter(RateLimiter):
    """Buckets in this process, behind a lock: for one worker process with threads."""

    def __init__(
        self,
        budgets: Mapping[str, Budget] | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        max_inline_wait: float = 1.0,
    ) -> None:
        super().__init__(budgets, clock=clock, sleep=sleep, max_inline_wait=max_inline_wait)
        self._lock = threading.Lock()
        # (scope, bucket) -> (tokens, stamp)
        self._state: dict[tuple[str, str], tuple[float, float]] = {}

    def _reserve(
        self, buckets: list[tuple[str, Budget]], now: float, scope: str
    ) -> tuple[float, str]:
        with self._lock:
            refilled: dict[tuple[str, str], tuple[float, float]] = {}
            wait, limiting = 0.0, ""
            for name, budget in buckets:
                tokens, stamp = self._state.get((scope, name), (float(budget.burst), now))
                tokens, stamp = _refill(tokens, stamp, budget, now)
                refilled[(scope, name)] = (tokens, stamp)
                if tokens < 1 - EPSILON and (1 - tokens) / budget.rate > wait:
                    wait, limiting = (1 - tokens) / budget.rate, name
            if wait > 0:
                return wait, limiting
            for state_key, (tokens, stamp) in refilled.items():
                self._state[state_key] = (max(0.0, tokens - 1), stamp)
            return 0.0, ""


# KEYS: one hash {tokens, ts} per bucket. ARGV: now, then rate and burst per key, then the TTL
# in ms. Refills every bucket to `now`; if each holds a token, takes one from each and returns
# {"0", ""}; otherwise changes nothing and returns {seconds to wait, the limiting bucket's key}.
# Numbers travel as strings: Redis would truncate a Lua number reply to an integer.
_RESERVE_LUA = """
local now = tonumber(ARGV[1])
local ttl = tonumber(ARGV[#ARGV])
local tokens, stamps = {}, {}
local wait, limiting = 0, ''
for i, key in ipairs(KEYS) do
  local rate = tonumber(ARGV[2 * i])
  local burst = tonumber(ARGV[2 * i + 1])
  local state = redis.call('HMGET', key, 'tokens', 'ts')
  local t, ts = tonumber(state[1]), tonumber(state[2])
  if t == nil or ts == nil then t, ts = burst, now end
  if now > ts then
    t = math.min(burst, t + (now - ts) * rate)
    ts = now
  end
  tokens[i], stamps[i] = t, ts
  if t < 1 - __EPSILON__ and (1 - t) / rate > wait then
    wait, limiting = (1 - t) / rate, key
  end
end
if wait > 0 then return {string.format('%.17g', wait), limiting} end
for i, key in ipairs(KEYS) do
  redis.call('HSET', key, 'tokens', string.format('%.17g', math.max(0, tokens[i] - 1)),
             'ts', string.format('%.17g', stamps[i]))
  redis.call('PEXPIRE', key, ttl)
end
return {'0', ''}
""".replace("__EPSILON__", repr(EPSILON))


class RedisRateLimiter(RateLimiter):
    """Buckets in Redis, shared by every worker; one Lua script keeps each reservation atomic."""

    def __init__(
        self,
        budgets: Mapping[str, Budget] | None = None,
        *,
        redis_url: str,
        prefix: str = KEY_PREFIX,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        max_inline_wait: float = 1.0,
    ) -> None:
        super().__init__(budgets, clock=clock, sleep=sleep, max_inline_wait=max_inline_wait)
        self.redis = redis.Redis.from_url(redis_url, socket_timeout=5, socket_connect_timeout=5)
        self.base_prefix = prefix
        self._script = self.redis.register_script(_RESERVE_LUA)

    def scope_prefix(self, scope: str = "") -> str:
        # Quotas are per account and region. The {hash tag} keeps a scope's buckets in one
        # Redis Cluster slot, which a multi-key script needs.
        return f"{self.base_prefix}{{{scope_of(scope)}}}:"

    @property
    def prefix(self) -> str:
        """The keys of the process's own account in AWS_REGION."""
        return self.scope_prefix()

    def key(self, bucket: str, scope: str = "") -> str:
        return self.scope_prefix(scope) + bucket

    def _reserve(
        self, buckets: list[tuple[str, Budget]], now: float, scope: str
    ) -> tuple[float, str]:
        args: list[str] = [repr(now)]
        for _, budget in buckets:
            args += [repr(float(budget.rate)), str(budget.burst)]
        # Keep a bucket until well after it would have refilled: a missing key is a full bucket.
        refill = max(budget.burst / budget.rate for _, budget in buckets)
        args.append(str(int(max(60.0, 2 * refill) * 1000)))
        try:
            wait, limiting = self._script(
                keys=[self.key(name, scope) for name, _ in buckets], args=args
            )
        except redis.RedisError as exc:
            raise TransientSyncError(
                f"Could not reach Redis for the AWS rate budget: {exc}"
            ) from exc
        bucket = limiting.decode() if isinstance(limiting, bytes) else str(limiting)
        return float(wait), bucket.removeprefix(self.scope_prefix(scope))


def limiter_from_settings() -> RateLimiter:
    if settings.REDIS_URL:
        return RedisRateLimiter(redis_url=settings.REDIS_URL)
    return LocalRateLimiter()


_limiter: RateLimiter | None = None
_limiter_lock = threading.Lock()


def get_limiter() -> RateLimiter:
    """The process-wide limiter every API Gateway call goes through."""
    global _limiter
    with _limiter_lock:
        if _limiter is None:
            _limiter = limiter_from_settings()
        return _limiter


def set_limiter(limiter: RateLimiter | None) -> None:
    """Use `limiter` from now on (tests: a fake clock); None: build it from settings again."""
    global _limiter
    with _limiter_lock:
        _limiter = limiter


@receiver(setting_changed)
def _forget_limiter(*, setting: str, **kwargs: Any) -> None:
    if setting in {"REDIS_URL", "TOLLGATE", "AWS_REGION"}:
        set_limiter(None)
