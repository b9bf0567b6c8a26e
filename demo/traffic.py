"""Live demo traffic: real HTTP requests through the local API Gateway with the demo's keys.

`manage.py demo_traffic` (the demo Procfile's `traffic` line) runs `TrafficLoop` until it is
stopped, so the ops page's charts move while someone watches; the 30 days before are
`demo.simulator`'s. It only sends requests: the gateway itself meters usage (GetUsage) and
publishes the CloudWatch metrics, as API Gateway does, so what the charts show happened.

Who sends what is `demo.traffic_plan`'s; where the keys and addresses come from and how a
request goes out, `demo.traffic_aws`'s. This module is the loop, bounded on every side:

* at most `max_rate` requests a second in all (a token bucket of one second's worth, so a
  burst of a few requests goes at once), and at most `workers` requests in flight: the loop
  waits for a free worker rather than queueing, and a stream that fell behind (a slow answer,
  an outage) drops the calls it missed instead of sending them in a rush;
* the key list is refreshed every `refresh_every` seconds: a key created in the console gets
  traffic within that time, and a key that answers only 403 for `rest_after` seconds (paused,
  revoked) is tried once every `retry_every` seconds until it answers again; keys the local
  AWS no longer lists stop after `forget_after` seconds of 403s;
* a connection error (the local AWS restarting) stops all sending for a second, doubling up to
  `max_backoff`, until a request is answered again;
* one summary line a minute: sent, 2xx, 403, 429 throttle, 429 quota, other answers, errors.
"""

from __future__ import annotations

import heapq
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Protocol

from demo.traffic_plan import (
    QUOTA_RESTING,
    STEADY_BUDGET,
    Call,
    LiveKey,
    Role,
    Stream,
    assign_roles,
    plan_streams,
    planned_rate,
    quota_left,
)

Sender = Callable[[Call], tuple[int, bytes]]  # (status, body); raises OSError when unreachable
Discover = Callable[[], Sequence[LiveKey]]


class Clock(Protocol):
    def now(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...


class RealClock:
    def __init__(self, stop: threading.Event | None = None) -> None:
        self.stop = stop or threading.Event()

    def now(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        self.stop.wait(max(seconds, 0.0))  # a stop request cuts the sleep short


OK, FORBIDDEN, THROTTLED, QUOTA, OTHER, ERROR = (
    "2xx",
    "403",
    "429 throttle",
    "429 quota",
    "other",
    "errors",
)
OUTCOMES = (OK, FORBIDDEN, THROTTLED, QUOTA, OTHER, ERROR)


def classify(status: int, body: bytes) -> str:
    """API Gateway's answers: its quota refusal says "Limit Exceeded", its throttle "Too Many
    Requests" (any other 429 counts as a throttle)."""
    if 200 <= status < 300:
        return OK
    if status == 403:
        return FORBIDDEN
    if status == 429:
        return QUOTA if b"limit exceeded" in body.lower() else THROTTLED
    return OTHER


@dataclass
class Tally:
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(OUTCOMES, 0))

    @property
    def sent(self) -> int:
        return sum(self.counts.values())

    def add(self, outcome: str) -> None:
        self.counts[outcome] += 1

    def line(self, seconds: float) -> str:
        c = self.counts
        rate = self.sent / seconds if seconds > 0 else 0.0
        return (
            f"sent {self.sent} ({rate:.1f}/s): 2xx {c[OK]}, 403 {c[FORBIDDEN]}, "
            f"429 throttle {c[THROTTLED]}, 429 quota {c[QUOTA]}, other {c[OTHER]}, "
            f"errors {c[ERROR]}"
        )


class Limiter:
    """A token bucket over all requests: `rate` a second, `capacity` at once."""

    def __init__(self, rate: float, capacity: float, now: float) -> None:
        self.rate, self.capacity = rate, capacity
        self.tokens, self.at = capacity, now

    def wait(self, now: float) -> float:
        """0 and a token taken, or how long until one is there."""
        self.tokens = min(self.capacity, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / self.rate


@dataclass
class KeyState:
    """How a key's requests are answered lately."""

    listed: bool = True  # still in the local AWS's list
    forbidden_since: float | None = None  # first of an unbroken run of 403s
    next_try: float = 0.0  # while resting: when to try once more

    def resting(self, now: float, rest_after: float) -> bool:
        return self.forbidden_since is not None and now - self.forbidden_since >= rest_after


class TrafficLoop:
    def __init__(
        self,
        discover: Discover,
        sender: Sender,
        *,
        seed: int = 1,
        clock: Clock | None = None,
        log: Callable[[str], None] = print,
        workers: int = 3,
        max_rate: float = 15.0,
        steady_budget: float = STEADY_BUDGET,
        refresh_every: float = 30.0,
        summary_every: float = 60.0,
        rest_after: float = 20.0,
        retry_every: float = 60.0,
        forget_after: float = 600.0,
        max_backoff: float = 30.0,
    ) -> None:
        self.discover, self.sender, self.seed, self.log = discover, sender, seed, log
        self.clock = clock or RealClock()
        self.workers, self.steady_budget = workers, steady_budget
        self.refresh_every, self.summary_every = refresh_every, summary_every
        self.rest_after, self.retry_every, self.forget_after = rest_after, retry_every, forget_after
        self.max_backoff = max_backoff
        now = self.clock.now()
        self.limiter = Limiter(max_rate, max_rate, now)
        self.lock = threading.Lock()  # workers report answers while the loop schedules
        self.total, self.minute = Tally(), Tally()
        self.roles: dict[str, Role] = {}
        self.keys: dict[str, LiveKey] = {}
        self.states: dict[str, KeyState] = {}
        self.streams: dict[str, Stream] = {}
        self.heap: list[tuple[float, int, str]] = []
        self.sequence = 0
        self.backoff, self.paused_until = 0.0, now
        self.next_refresh, self.next_summary, self.minute_start = now, now + summary_every, now
        self.refresh_failed = False

    # -- the loop ---------------------------------------------------------------------------

    def run(self, duration: float | None = None, stop: threading.Event | None = None) -> Tally:
        """Send until `duration` seconds passed or `stop` is set; return what was sent in all."""
        end = None if duration is None else self.clock.now() + duration
        pool = ThreadPoolExecutor(self.workers, "traffic") if self.workers > 0 else None
        free = threading.BoundedSemaphore(max(self.workers, 1))
        try:
            while not (stop is not None and stop.is_set()):
                now = self.clock.now()
                if end is not None and now >= end:
                    break
                wait = self._step(now, pool, free)
                if wait > 0:
                    self.clock.sleep(min(wait, 0.5, (end - now) if end is not None else 0.5))
        finally:
            if pool is not None:
                pool.shutdown(wait=True)
        return self.total

    def _step(
        self, now: float, pool: ThreadPoolExecutor | None, free: threading.Semaphore
    ) -> float:
        """Do what is due at `now`; return how long to wait before the next step."""
        if now >= self.next_refresh:
            self.refresh(now)
        if now >= self.next_summary:
            self.summary(now)
        with self.lock:
            paused_until = self.paused_until
        if now < paused_until:
            return paused_until - now
        if not self.heap:
            return min(self.next_refresh, self.next_summary) - now
        due, _, name = self.heap[0]
        if due > now:
            return min(due, self.next_refresh, self.next_summary) - now
        stream = self.streams.get(name)
        if stream is None or stream.next_at != due:
            heapq.heappop(self.heap)  # left behind by a refresh
            return 0.0
        if due < now - 1.0:
            heapq.heappop(self.heap)
            stream.skip_to(now)
            self._push(stream)
            return 0.0
        if not self._may_send(stream, now):
            heapq.heappop(self.heap)
            stream.advance()
            self._push(stream)
            return 0.0
        wait = self.limiter.wait(now)
        if wait > 0:
            return wait
        heapq.heappop(self.heap)
        call = stream.call()
        self._push(stream)
        if pool is None:
            self._send(call)
        else:
            free.acquire()  # every worker busy: wait, never queue

            def done(_: object) -> None:
                free.release()

            pool.submit(self._send, call).add_done_callback(done)
        return 0.0

    def _push(self, stream: Stream) -> None:
        self.sequence += 1
        heapq.heappush(self.heap, (stream.next_at, self.sequence, stream.name))

    def _may_send(self, stream: Stream, now: float) -> bool:
        if stream.key_id is None:
            return True
        with self.lock:
            state = self.states.get(stream.key_id)
            if state is None or not state.resting(now, self.rest_after):
                return True
            if now < state.next_try:
                return False
            state.next_try = now + self.retry_every
            return True

    def _send(self, call: Call) -> None:
        try:
            status, body = self.sender(call)
        except OSError:
            outcome = ERROR
        else:
            outcome = classify(status, body)
        now = self.clock.now()
        with self.lock:
            self.total.add(outcome)
            self.minute.add(outcome)
            if outcome == ERROR:
                self.backoff = min(self.max_backoff, max(1.0, self.backoff * 2))
                self.paused_until = max(self.paused_until, now + self.backoff)
                return
            self.backoff = 0.0
            if call.key_id is None:
                return
            state = self.states.setdefault(call.key_id, KeyState())
            if outcome == FORBIDDEN:
                if state.forbidden_since is None:
                    state.forbidden_since = now
                    state.next_try = now + self.rest_after
            else:
                state.forbidden_since = None
            stream = self.streams.get(f"{Role.QUOTA}:{call.key_id}")
            if stream is not None:  # a client whose quota is used up tries less often
                stream.slow = 1.0 if outcome != QUOTA else QUOTA_RESTING

    # -- keys and summaries -----------------------------------------------------------------

    def refresh(self, now: float) -> None:
        """Read the keys again and re-plan; keep each stream's schedule and each key's role."""
        try:
            found = list(self.discover())
        except Exception as exc:  # the local AWS is down or restarting: keep the plan we have
            if not self.refresh_failed:
                self.log(f"cannot read the keys from the local AWS ({exc}); retrying")
            self.refresh_failed = True
            self.next_refresh = now + min(10.0, self.refresh_every)
            return
        self.refresh_failed = False
        self.next_refresh = now + self.refresh_every
        with self.lock:
            listed = {key.key_id for key in found}
            for key_id, state in list(self.states.items()):
                state.listed = key_id in listed
                since = state.forbidden_since
                if not state.listed and since is not None and now - since >= self.forget_after:
                    del self.states[key_id]
            # A key no longer listed (revoked) keeps being tried, as its client would, until
            # it is forgotten.
            keys = {key.key_id: key for key in found}
            for key_id, key in self.keys.items():
                if key_id not in keys and key_id in self.states:
                    keys[key_id] = key
            roles = assign_roles(list(keys.values()), self.seed, self.roles)
            planned = plan_streams(list(keys.values()), roles, self.seed, self.steady_budget)
            new_keys = [k for k in keys if k not in self.keys]
            self.keys, self.roles = keys, roles
            streams: dict[str, Stream] = {}
            for stream in planned:
                old = self.streams.get(stream.name)
                if old is None:
                    stream.start(now)
                else:  # the same client: its schedule goes on, at the new plan's rate
                    old.rate, old.burst_size = stream.rate, stream.burst_size
                    old.burst_every = stream.burst_every
                    old.address, old.key_value = stream.address, stream.key_value
                    stream = old
                streams[stream.name] = stream
            self.streams = streams
            self.heap = []
            for stream in streams.values():
                self._push(stream)
        if new_keys:
            self.log(self.describe(new_keys))

    def describe(self, key_ids: Sequence[str]) -> str:
        parts = []
        for key_id in key_ids:
            key, role = self.keys[key_id], self.roles[key_id]
            text = f"{key.name} ({role}"
            if role is Role.QUOTA and key.quota_limit is not None:
                left = quota_left(key)
                stream = self.streams[f"{role}:{key_id}"]
                text += (
                    f": {left} of {key.quota_limit}/{key.quota_period} left, at "
                    f"{stream.rate:.1f}/s used up in ~{left / stream.rate / 60:.0f} min"
                )
            parts.append(text + ")")
        rate = planned_rate(self.streams.values())
        listed = ", ".join(parts)
        return f"{len(key_ids)} keys get traffic, ~{rate:.1f} requests/s in all: {listed}"

    def summary(self, now: float) -> None:
        with self.lock:
            tally, self.minute = self.minute, Tally()
            resting = sum(1 for s in self.states.values() if s.resting(now, self.rest_after))
        seconds, self.minute_start = now - self.minute_start, now
        self.next_summary = now + self.summary_every
        keys = f"{len(self.keys)} keys, {resting} resting after 403s"
        self.log(f"last {seconds:.0f} s: {tally.line(seconds)}; {keys}")
