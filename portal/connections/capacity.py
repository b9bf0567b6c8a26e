"""API Gateway's ceilings in each account and region, and how near each place is to them.

AWS allows 10,000 API keys per account and region (a hard limit: it cannot be raised), 300
usage plans (raised only on request), and one account-level throttle shared by every request
of the account in the region (GetAccount's throttleSettings, read by the connection check).

The counts belong to the domains that own the objects: plans/capacity.py counts usage plans,
keys/capacity.py keys and the throttle their tiers promise. keys (the domain above plans)
registers one census of all of them here, in KeysConfig.ready, so that the kernel's pages (the
connections list) show warnings without importing a layer above them.

Counting is exact but reads every key and copy (grouped in the database: a few aggregate
queries, yet 100,000 rows at 50,000 keys in two regions, longer than a page may take). So the
refusals count each time (they are what stops the 10,001st key), while the pages read the
counts a beat job kept (`recent_counts`: portal.reconcile keeps them, registered in
ReconcileConfig.ready; at most a minute old) and say when they were counted.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone

from portal.aws.location import Location
from portal.connections.locations import location_of
from portal.connections.models import AwsConnection

LocationKey = tuple[int | None, str]

API_KEYS = "api_keys"
USAGE_PLANS = "usage_plans"
THROTTLE = "throttle_rate"
UNTHROTTLED = "unthrottled_keys"  # keys on tiers with no rate: bounded by the account's alone
# AWS's quotas (API Gateway developer guide, "Amazon API Gateway quotas"); settings may lower
# them (TOLLGATE["AWS_CAPS"]) for an account with a smaller quota, or a test.
DEFAULT_CAPS = {API_KEYS: 10_000, USAGE_PLANS: 300}
WARN_SHARE = Decimal("0.8")
NOUNS = {API_KEYS: "API keys", USAGE_PLANS: "usage plans", THROTTLE: "requests per second"}

Figures = Mapping[str, Mapping[LocationKey, Decimal]]
TopTiers = Mapping[LocationKey, list[tuple[str, int]]]


@dataclass(frozen=True)
class Counts:
    """For each figure (API_KEYS, ...), how much is used in every place where something is
    counted; the tiers with the most keys in each place; and when it was counted."""

    figures: Figures
    top_tiers: TopTiers = field(default_factory=dict)
    counted_at: datetime.datetime = field(default_factory=timezone.now)


# A census counts now. Its argument is the default connection's id: rows recorded with no
# connection are that one's.
Census = Callable[[int | None], Counts]
_censuses: dict[str, Census] = {}
# A keeper answers with the counts it remembers, or calls its argument to count and keeps that.
Keeper = Callable[[Callable[[], Counts]], Counts]
_keepers: list[Keeper] = []


def register_census(name: str, census: Census) -> None:
    _censuses[name] = census


def register_keeper(keeper: Keeper) -> None:
    _keepers[:] = [keeper]


def counted(default_id: int | None) -> Counts:
    """Exact counts, now."""
    figures: dict[str, Mapping[LocationKey, Decimal]] = {}
    tops: dict[LocationKey, list[tuple[str, int]]] = {}
    for census in _censuses.values():
        counts = census(default_id)
        figures.update(counts.figures)
        tops.update(counts.top_tiers)
    return Counts(figures, tops)


def recent_counts() -> Counts:
    """The counts the pages show: as the keeper remembers them, else counted now."""

    def count() -> Counts:
        return counted(default_connection_id())

    return _keepers[0](count) if _keepers else count()


def cap(name: str) -> int:
    caps: Mapping[str, int] = settings.TOLLGATE.get("AWS_CAPS", {})
    return int(caps.get(name, DEFAULT_CAPS[name]))


def place_key(connection_id: int | None, region: str, default_id: int | None) -> LocationKey:
    """Where a row is, with "no connection" read as the default connection."""
    return (default_id if connection_id is None else connection_id, region)


def default_connection_id() -> int | None:
    return AwsConnection.objects.filter(is_default=True).values_list("pk", flat=True).first()


def place_words(location: Location) -> str:
    """ "eu-west-1", "eu-west-1 (Partner)" in messages: the region first, as AWS's limits are
    per region (the default connection's places go by their region alone, as on every page)."""
    name = location.connection_name
    return f"{location.region} ({name})" if name else location.region


def amount(value: Decimal) -> str:
    """ "10,000", "2.4": throttle rates have cents, counts none."""
    return f"{value:,.2f}".rstrip("0").rstrip(".")


@dataclass(frozen=True)
class Figure:
    name: str
    used: Decimal
    cap: Decimal | None  # None: not known yet (the account throttle before a check)

    @property
    def percent(self) -> int:
        if not self.cap:
            return 0
        return min(100, int(self.used * 100 / self.cap))

    @property
    def warn(self) -> bool:
        return self.cap is not None and self.used >= self.cap * WARN_SHARE

    @property
    def full(self) -> bool:
        return self.cap is not None and self.used >= self.cap

    @property
    def noun(self) -> str:
        return NOUNS[self.name]

    @property
    def shown(self) -> str:
        """ "1,204 / 10,000" for the bars."""
        return (
            amount(self.used) if self.cap is None else f"{amount(self.used)} / {amount(self.cap)}"
        )

    @property
    def words(self) -> str:
        if self.cap is None:
            return f"{amount(self.used)} {self.noun}"
        return f"{amount(self.used)} of {amount(self.cap)} {self.noun} ({self.percent}%)"


@dataclass(frozen=True)
class Foreign:
    """What the last reconcile found in AWS that Tollgate did not make in one place
    (portal.reconcile, above this layer, passes it in)."""

    key: LocationKey
    api_keys: int
    usage_plans: int


@dataclass(frozen=True)
class PlaceCapacity:
    location: Location
    api_keys: Figure
    usage_plans: Figure
    throttle: Figure  # what the keys there may ask for at once, against the account throttle
    burst_limit: int | None
    unthrottled_keys: int = 0
    connection_name: str = ""  # the connection's own name, the default's too
    foreign: Foreign | None = None  # None: objects made outside Tollgate are not counted here
    top_tiers: tuple[tuple[str, int], ...] = ()  # the tiers with the most keys there
    counted_at: datetime.datetime | None = None  # when the keys and usage plans were counted

    @property
    def key(self) -> LocationKey:
        return self.location.key

    @property
    def warnings(self) -> list[str]:
        where = place_words(self.location)
        found = []
        for figure in (self.api_keys, self.usage_plans):
            if figure.full:
                found.append(
                    f"{where} has {amount(figure.used)} {figure.noun}, API Gateway's limit: "
                    f"Tollgate refuses changes that would add more there."
                )
            elif figure.warn:
                found.append(f"{where} uses {figure.words}.")
        if self.throttle.warn:
            found.append(
                f"If every key in {where} used its tier's full rate, they would ask for "
                f"{self.throttle.words} of the account's throttle: ask AWS to raise it, or "
                "spread the tier over another region or account."
            )
        return found


def account_throttle(connection: AwsConnection | None, region: str) -> tuple[Decimal, int] | None:
    """The account throttle (rate, burst) the last connection check read with GetAccount."""
    if connection is None:
        return None
    found = connection.check_report.get("account_throttle", {}).get(region)
    if not isinstance(found, dict) or "rateLimit" not in found:
        return None
    return Decimal(str(found["rateLimit"])), int(found.get("burstLimit", 0))


def place_capacities(
    counts: Counts | None = None, foreign: Mapping[LocationKey, Foreign] | None = None
) -> list[PlaceCapacity]:
    """Every account and region of every connection, default first, with its figures (a few
    queries whatever the number of places, tiers and keys). `counts`: already counted (or
    remembered, `recent_counts`); else the registered censuses count them now. The limits
    and the account throttle are read each time: only the counts are remembered."""
    connections = list(AwsConnection.objects.all())
    default = next((c for c in connections if c.is_default), None)
    places: list[tuple[AwsConnection | None, Location]] = [
        (connection, location_of(connection, str(region)))
        for connection in connections
        for region in connection.regions
    ]
    if not places:
        places = [(None, location_of(None, settings.AWS_REGION))]
    if counts is None:
        counts = counted(default.pk if default is not None else None)
    figures = counts.figures
    keys, plans, rates = (figures.get(n, {}) for n in (API_KEYS, USAGE_PLANS, THROTTLE))
    found = []
    for connection, location in places:
        here = (foreign or {}).get(location.key)
        throttle = account_throttle(connection, location.region)
        used_keys = keys.get(location.key, Decimal(0)) + (here.api_keys if here else 0)
        used_plans = plans.get(location.key, Decimal(0)) + (here.usage_plans if here else 0)
        found.append(
            PlaceCapacity(
                location=location,
                api_keys=Figure(API_KEYS, used_keys, Decimal(cap(API_KEYS))),
                usage_plans=Figure(USAGE_PLANS, used_plans, Decimal(cap(USAGE_PLANS))),
                throttle=Figure(
                    THROTTLE, rates.get(location.key, Decimal(0)), throttle[0] if throttle else None
                ),
                burst_limit=throttle[1] if throttle else None,
                unthrottled_keys=int(figures.get(UNTHROTTLED, {}).get(location.key, 0)),
                connection_name=connection.name if connection is not None else "",
                foreign=here,
                top_tiers=tuple(counts.top_tiers.get(location.key, ())),
                counted_at=counts.counted_at,
            )
        )
    return found


def warnings_by_connection() -> dict[int | None, list[str]]:
    """The connections list's warnings, by connection id (from the recent counts)."""
    found: dict[int | None, list[str]] = {}
    for place in place_capacities(recent_counts()):
        if place.warnings:
            found.setdefault(place.location.connection_id, []).extend(place.warnings)
    return found


def refuse_past_cap(
    name: str,
    adding: Mapping[LocationKey, int],
    used: Mapping[LocationKey, Decimal],
    places: Mapping[LocationKey, Location],
    what_to_do: str,
    field: str | None = None,
) -> None:
    """Refuse (nothing is saved, nothing sent to AWS) a change adding `adding[place]` of `name`
    where that would pass AWS's limit: AWS would refuse the sync later, after the person left."""
    limit = cap(name)
    for key, more in adding.items():
        have = used.get(key, Decimal(0))
        if more and have + more > limit:
            message = (
                f"API Gateway allows {limit:,} {NOUNS[name]} per account and region and "
                f"{place_words(places[key])} has {amount(have)}"
                + (f" (this needs {more:,} more)" if more > 1 else "")
                + f": {what_to_do}"
            )
            raise ValidationError({field: [message]} if field else message)
