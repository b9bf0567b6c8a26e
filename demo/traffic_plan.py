"""Who sends what in the demo's live traffic (`manage.py demo_traffic`): a plan of streams.

Pure and seeded: the same keys and seed give the same plan, whatever order the keys come in.
Every key the local AWS holds gets a stream of requests shaped like one customer's client:

* most keys are STEADY: Poisson arrivals at a rate well below their throttle (at most
  `STEADY_SHARE` of it) and within their quota (at most `QUOTA_PACE` of what is left, spread
  over the next `HORIZON` or until the period starts again), drawn per key from a lognormal and
  scaled so all of them together ask for at most `STEADY_BUDGET` requests a second;
* one key is QUOTA: the key on the tier with the smallest quota per day that has the least of it
  left (the demo's Free tier, 1,000 a day), sent regularly just under its throttle so it runs
  into its quota within minutes and then gets 429 "Limit Exceeded"; after that it keeps
  knocking at `QUOTA_RESTING` of the rate, as a client retrying would. Picking the key with
  the least left also keeps the choice on the same key after a restart the same day;
* up to `BURSTY_KEYS` keys are BURSTY: a light background plus bursts of twice their
  throttle's burst at once, so about half of each burst is answered 429 "Too Many Requests"
  (only keys whose burst is small enough to overrun within the demo's bounds). The bursts come
  every `BURST_EVERY` s or less often, as the quota left allows: the demo's bursty keys are on
  Free (burst 5, 1,000 a day), and a burst every 20 s would use a day's quota in about an hour,
  after which they would show only "Limit Exceeded";
* and the internet's noise, at a low rate: calls without a key and with a made-up key (403),
  and health checks of the open GET /status.
"""

from __future__ import annotations

import datetime
import enum
import math
import random
import string
import urllib.parse
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

STEADY_BUDGET = 2.0  # requests/s asked for by all steady keys together
STEADY_SHARE = 0.4  # of a key's throttle rate, at most
QUOTA_PACE = 0.8  # of the rate the quota left allows over the horizon, at most
HORIZON = 3 * 3600.0  # seconds a key's quota left is spread over (a long demo, not a day)
MIN_RATE = 0.005  # requests/s of a key whose quota is used up: it still tries now and then
QUOTA_SHARE = 0.9  # of the quota key's throttle rate: through its quota, without 429 throttles
QUOTA_RATE_MAX = 2.0
QUOTA_RESTING = 0.15  # of its rate once the quota is used up: a client retrying now and then
BURSTY_KEYS = 2
BURST_CALLS_MAX = 12  # a burst bigger than this would strain the demo's request budget
BURST_EVERY = 20.0  # seconds between a bursty key's bursts, on average, at the most often
BURST_EVERY_MAX = 600.0
BURSTY_BACKGROUND = 0.3
NO_KEY_RATE = 0.08
WRONG_KEY_RATE = 0.04
HEALTH_RATE = 0.2
PERIOD_DAYS = {"DAY": 1, "WEEK": 7, "MONTH": 30}

CITIES = (
    "Lisbon", "Oslo", "Nairobi", "Osaka", "Lima", "Toronto", "Melbourne", "Reykjavik",
    "Sao Paulo", "Cape Town", "Hanoi", "Montreal", "Porto", "Kyoto", "Quito", "Tallinn",
)  # fmt: skip
ADDRESSES = ("1 Infinite Loop, Cupertino", "10 Downing Street, London", "Praca do Comercio, Lisboa")


class Role(enum.StrEnum):
    STEADY = "steady"
    QUOTA = "quota"
    BURSTY = "bursty"
    NO_KEY = "no key"
    WRONG_KEY = "wrong key"
    HEALTH = "health"


@dataclass(frozen=True)
class Address:
    """Where a stage answers: the Host header and the path in front of the resource path."""

    host: str
    prefix: str  # "" or "/v1" (custom domain), "/restapis/{id}/{stage}/_user_request_"
    paths: frozenset[str] = frozenset()  # the API's resource paths; empty: not known


@dataclass(frozen=True)
class LiveKey:
    """An API key as the local AWS holds it, with its usage plan's limits."""

    key_id: str
    name: str
    value: str
    enabled: bool
    address: Address
    throttle_rate: float | None = None
    throttle_burst: int | None = None
    quota_limit: int | None = None
    quota_period: str | None = None
    quota_remaining: int | None = None  # in the current period (GetUsage)
    period_left: float | None = None  # seconds until the quota period starts again

    @property
    def quota_per_day(self) -> float:
        if self.quota_limit is None:
            return math.inf
        return self.quota_limit / PERIOD_DAYS.get(self.quota_period or "DAY", 30)


@dataclass(frozen=True)
class Call:
    method: str
    host: str
    path: str  # with the query string
    key: str | None  # the x-api-key header
    body: bytes | None = None
    key_id: str | None = None  # whose call it is, to follow each key's answers


@dataclass
class Stream:
    """One client's schedule: `next_at` (seconds on the loop's clock) and what it sends."""

    name: str  # unique and stable across refreshes: "<role>:<key id or noise>"
    role: Role
    address: Address
    rate: float  # mean requests/s outside bursts
    key_value: str | None = None
    key_id: str | None = None
    burst_size: int = 0
    burst_every: float = BURST_EVERY
    regular: bool = False  # evenly spaced (jitter 10%) instead of Poisson arrivals
    rng: random.Random = field(default_factory=random.Random)
    next_at: float = 0.0
    burst_left: int = 0
    next_burst_at: float = 0.0
    slow: float = 1.0  # a factor on the rate (the quota key once its quota is used up)

    def start(self, now: float) -> None:
        self.next_at = now + self._gap()
        if self.burst_size:
            self.next_burst_at = now + self.rng.uniform(2.0, min(BURST_EVERY, self.burst_every))
            self._burst_if_due(self.next_at)

    def call(self) -> Call:
        """The request due at `next_at`; then schedules the next one."""
        made = _request(self, self.rng)
        self.advance()
        return made

    def advance(self) -> None:
        if self.burst_left:
            self.burst_left -= 1
        if self.burst_left:
            return  # the rest of a burst goes at once
        self.next_at += self._gap()
        self._burst_if_due(self.next_at)

    def _burst_if_due(self, following: float) -> None:
        """The next call is a burst's first when the burst is due before `following`."""
        if self.burst_size and self.next_burst_at <= following:
            self.next_at = self.next_burst_at
            self.burst_left = self.burst_size
            self.next_burst_at = self.next_at + self.burst_every * self.rng.uniform(0.75, 1.25)

    def skip_to(self, now: float) -> None:
        """Missed calls are dropped, not sent in a rush (after an outage, a slow send)."""
        self.burst_left = 0
        self.next_at = now + self._gap()
        if self.burst_size:
            self.next_burst_at = max(self.next_burst_at, now + 1.0)
            self._burst_if_due(self.next_at)

    def _gap(self) -> float:
        rate = self.rate * self.slow
        if rate <= 0:
            return 3600.0
        if self.regular:
            return self.rng.uniform(0.9, 1.1) / rate
        return self.rng.expovariate(rate)


def _rng(seed: int, name: str) -> random.Random:
    return random.Random(f"{seed}:{name}")  # a str seed is hashed the same way on every run


def _order(keys: Iterable[LiveKey]) -> list[LiveKey]:
    return sorted(keys, key=lambda k: (k.name, k.key_id))


def pick_quota_key(keys: Sequence[LiveKey]) -> LiveKey | None:
    """The key on the smallest quota (per day) with the least of it left, if any has a quota."""
    limited = [k for k in keys if k.quota_limit is not None and k.enabled]
    if not limited:
        return None
    smallest = min(k.quota_per_day for k in limited)
    candidates = [k for k in limited if k.quota_per_day == smallest]
    return min(_order(candidates), key=quota_left)


def quota_left(key: LiveKey) -> int:
    if key.quota_remaining is not None:
        return key.quota_remaining
    return key.quota_limit or 0


def pick_bursty_keys(keys: Sequence[LiveKey], seed: int, count: int = BURSTY_KEYS) -> list[LiveKey]:
    """Up to `count` enabled keys whose throttle burst is small enough to overrun, seeded."""
    fit = [
        k
        for k in _order(keys)
        if k.enabled and k.throttle_burst is not None and 2 * k.throttle_burst <= BURST_CALLS_MAX
    ]
    return random.Random(seed).sample(fit, min(count, len(fit)))


def assign_roles(
    keys: Sequence[LiveKey], seed: int, kept: Mapping[str, Role] | None = None
) -> dict[str, Role]:
    """Each key's role; `kept` (the previous refresh's) holds while its keys are still there, so
    a refresh does not move the quota or the bursts to other keys."""
    kept = kept or {}
    present = {k.key_id for k in keys}
    roles: dict[str, Role] = {
        key_id: role
        for key_id, role in kept.items()
        if key_id in present and role in (Role.QUOTA, Role.BURSTY)  # a steady key may move up
    }
    if Role.QUOTA not in roles.values():
        quota = pick_quota_key([k for k in keys if k.key_id not in roles])
        if quota is not None:
            roles[quota.key_id] = Role.QUOTA
    missing = BURSTY_KEYS - sum(1 for role in roles.values() if role is Role.BURSTY)
    if missing > 0:
        free = [k for k in keys if k.key_id not in roles]
        for key in pick_bursty_keys(free, seed, missing):
            roles[key.key_id] = Role.BURSTY
    for key in keys:
        roles.setdefault(key.key_id, Role.STEADY)
    return roles


def plan_streams(
    keys: Sequence[LiveKey], roles: Mapping[str, Role], seed: int, steady_budget: float
) -> list[Stream]:
    """The streams of every key, plus the noise at the address most keys use."""
    streams: list[Stream] = []
    steady: list[Stream] = []
    for key in _order(keys):
        role = roles.get(key.key_id, Role.STEADY)
        rng = _rng(seed, key.key_id)
        stream = Stream(
            name=f"{role}:{key.key_id}",
            role=role,
            address=key.address,
            rate=0.0,
            key_value=key.value,
            key_id=key.key_id,
            rng=rng,
        )
        throttle = key.throttle_rate
        if role is Role.QUOTA:
            stream.rate = min(QUOTA_RATE_MAX, QUOTA_SHARE * (throttle or QUOTA_RATE_MAX))
            stream.regular = True
        elif role is Role.BURSTY:
            # About `burst` of each burst get through; they and the background share the pace.
            burst = key.throttle_burst or 1
            pace = quota_pace(key)
            stream.rate = BURSTY_BACKGROUND if pace is None else min(BURSTY_BACKGROUND, pace / 4)
            stream.burst_size = 2 * burst
            every = BURST_EVERY if pace is None else burst / max(pace - stream.rate, 1e-9)
            stream.burst_every = min(BURST_EVERY_MAX, max(BURST_EVERY, every))
        else:
            rate = rng.lognormvariate(math.log(0.25), 0.6)
            for bound in (STEADY_SHARE * throttle if throttle else None, quota_pace(key)):
                if bound is not None:
                    rate = min(rate, bound)
            stream.rate = max(rate, MIN_RATE)
            steady.append(stream)
        streams.append(stream)
    asked = sum(s.rate for s in steady)
    if asked > steady_budget:
        for stream in steady:
            stream.rate *= steady_budget / asked
    address = _usual_address(keys)
    if address is not None:
        rng = _rng(seed, "noise")
        wrong = "".join(rng.choices(string.ascii_letters + string.digits, k=40))
        streams += [
            Stream("noise:no-key", Role.NO_KEY, address, NO_KEY_RATE, rng=_rng(seed, "no-key")),
            Stream(
                "noise:wrong-key",
                Role.WRONG_KEY,
                address,
                WRONG_KEY_RATE,
                key_value=wrong,
                rng=_rng(seed, "wrong-key"),
            ),
            Stream("noise:health", Role.HEALTH, address, HEALTH_RATE, rng=_rng(seed, "health")),
        ]
    return streams


def planned_rate(streams: Iterable[Stream]) -> float:
    """Mean requests/s the streams ask for, bursts included."""
    return sum(s.rate + s.burst_size / s.burst_every for s in streams)


def quota_pace(key: LiveKey) -> float | None:
    """Requests/s that use `QUOTA_PACE` of the quota left over the horizon (None: no quota)."""
    if key.quota_limit is None:
        return None
    horizon = min(HORIZON, key.period_left) if key.period_left else HORIZON
    return QUOTA_PACE * quota_left(key) / max(horizon, 600.0)


def period_left(period: str | None, now: datetime.datetime) -> float | None:
    """Seconds until a quota period starts again: UTC days, Sunday-to-Saturday weeks and
    calendar months, as the local AWS counts them (localaws.usage)."""
    today = now.astimezone(datetime.UTC).date()
    if period == "DAY":
        end = today + datetime.timedelta(days=1)
    elif period == "WEEK":
        end = today + datetime.timedelta(days=7 - (today.weekday() + 1) % 7)
    elif period == "MONTH":
        end = (today.replace(day=28) + datetime.timedelta(days=4)).replace(day=1)
    else:
        return None
    start = datetime.datetime.combine(end, datetime.time(), tzinfo=datetime.UTC)
    return (start - now).total_seconds()


def _usual_address(keys: Sequence[LiveKey]) -> Address | None:
    counts: dict[Address, int] = {}
    for key in keys:
        counts[key.address] = counts.get(key.address, 0) + 1
    if not counts:
        return None
    return max(counts, key=lambda a: (counts[a], a.host, a.prefix))


# --- what a call asks for ----------------------------------------------------------------------


def _forecast(rng: random.Random) -> tuple[str, str, bytes | None]:
    query = {"city": rng.choice(CITIES), "days": str(rng.randint(1, 7))}
    return "GET", "/forecast?" + urllib.parse.urlencode(query), None


def _city(rng: random.Random) -> tuple[str, str, bytes | None]:
    return "GET", "/forecast/" + urllib.parse.quote(rng.choice(CITIES)), None


def _cities(rng: random.Random) -> tuple[str, str, bytes | None]:
    return "GET", "/cities", None


def _geocode(rng: random.Random) -> tuple[str, str, bytes | None]:
    return "GET", "/geocode?" + urllib.parse.urlencode({"q": rng.choice(CITIES)}), None


def _geocode_batch(rng: random.Random) -> tuple[str, str, bytes | None]:
    addresses = rng.sample(ADDRESSES, rng.randint(1, len(ADDRESSES)))
    body = ('{"addresses": [' + ", ".join(f'"{a}"' for a in addresses) + "]}").encode()
    return "POST", "/geocode", body


# (resource path, weight, what to send): the demo API's key-protected operations
OPERATIONS = (
    ("/forecast", 5, _forecast),
    ("/forecast/{city}", 2, _city),
    ("/cities", 1, _cities),
    ("/geocode", 1, _geocode),
    ("/geocode", 1, _geocode_batch),
)


def _request(stream: Stream, rng: random.Random) -> Call:
    address = stream.address
    if stream.role is Role.HEALTH:
        method, path, body = "GET", "/status", None
    else:
        known = [op for op in OPERATIONS if not address.paths or op[0] in address.paths]
        chosen = known or list(OPERATIONS)
        _, _, make = rng.choices(chosen, weights=[op[1] for op in chosen])[0]
        method, path, body = make(rng)
    return Call(
        method=method,
        host=address.host,
        path=address.prefix + path,
        key=stream.key_value,
        body=body,
        key_id=stream.key_id,
    )
