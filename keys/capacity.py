"""How many API keys each account and region holds, what their tiers let them ask of the
account's throttle, and the refusals of what would pass API Gateway's 10,000 keys there.

A key has a copy in every place its tier covers (keys/sync.py). A place's count is what AWS
will hold once the syncs ran: a copy of every live key whose tier covers it, plus the copies
still there of keys that left it (revoked, or their tier moved) until the worker deletes them.
Keys made outside Tollgate count against the same limit; only the reconciler sees those.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Count, FilteredRelation, Q
from django.utils import timezone

from keys.models import ApiKey, KeyCopy, KeyImportRow, KeyImportRowStatus, KeyImportStatus
from plans.capacity import TierPlaces, tier_places, usage_plans_used
from plans.models import Plan, Subscription, active_subscription_through
from portal.aws.location import Location
from portal.connections.capacity import (
    API_KEYS,
    THROTTLE,
    UNTHROTTLED,
    USAGE_PLANS,
    Counts,
    Foreign,
    LocationKey,
    PlaceCapacity,
    default_connection_id,
    place_capacities,
    place_key,
    refuse_past_cap,
)
from portal.connections.locations import Locations
from portal.customers.models import Customer

TOP_TIERS = 5
NEW_KEY_ADVICE = "revoke keys that are no longer used, or ask an admin to make room."
IMPORT_ADVICE = (
    "import fewer keys for customers whose tier is there (split the file), revoke keys that are "
    "no longer used, or add a region or another AWS account to the tier."
)
MOVE_ADVICE = (
    "add a region or another AWS account to the tier, or revoke unused keys in that account "
    "and region."
)


def _active_tier(customer_path: str) -> FilteredRelation:
    """The customer's active subscription as a join (alias it; `<alias>__plan_id` is the
    tier): one hash join over every key, where a subquery per key made 50,000 look-ups."""
    path = f"{customer_path}__subscriptions"
    return FilteredRelation(path, condition=active_subscription_through(path))


@dataclass(frozen=True)
class KeyCensus:
    """Live keys by tier (None: no tier) and the copies already in each place, from two
    aggregate queries whatever the number of keys (and the tiers' places)."""

    places: TierPlaces
    keys: dict[int | None, int]  # live keys per tier
    callers: dict[int | None, int]  # ...of them enabled and not expired: they can call
    leaving: dict[LocationKey, int]  # copies in a place their key no longer wants

    def used(self) -> dict[LocationKey, Decimal]:
        used: dict[LocationKey, Decimal] = {}
        for tier_id, count in self.keys.items():
            for key in self.places.of(tier_id):
                used[key] = used.get(key, Decimal(0)) + count
        for key, count in self.leaving.items():
            used[key] = used.get(key, Decimal(0)) + count
        return used

    def throttle(self) -> dict[LocationKey, Decimal]:
        """The worst case: every key that can call, at its tier's full rate."""
        rates: dict[LocationKey, Decimal] = {}
        for tier in self.places.tiers.values():
            for key in tier.places:
                asked = (tier.throttle_rate or 0) * self.callers.get(tier.pk, 0)
                rates[key] = rates.get(key, Decimal(0)) + asked
        return rates

    def unthrottled(self) -> dict[LocationKey, Decimal]:
        """Keys that can call on tiers with no rate of their own: only the account throttle
        bounds them, so no sum of rates covers them."""
        found: dict[LocationKey, Decimal] = {}
        for tier in self.places.tiers.values():
            if tier.throttle_rate is None and self.callers.get(tier.pk):
                for key in tier.places:
                    found[key] = found.get(key, Decimal(0)) + self.callers[tier.pk]
        return found

    def top_tiers(self, key: LocationKey) -> list[tuple[str, int]]:
        """The tiers with the most keys in a place: where a move would shift the most."""
        found = [
            (tier.name, self.keys.get(tier.pk, 0))
            for tier in self.places.tiers.values()
            if key in tier.places
        ]
        return sorted(found, key=lambda row: (-row[1], row[0]))[:TOP_TIERS]


def key_census(default_id: int | None = None) -> KeyCensus:
    places = tier_places(default_id)
    now = timezone.now()
    can_call = Q(enabled=True) & (Q(expires_at__isnull=True) | Q(expires_at__gt=now))
    keys: dict[int | None, int] = {}
    callers: dict[int | None, int] = {}
    rows = (
        ApiKey.objects.live()
        .alias(active=_active_tier("customer"))
        .values("active__plan_id")
        .annotate(n=Count("pk"), callers=Count("pk", filter=can_call))
        .order_by()
    )
    for tally in rows:
        keys[tally["active__plan_id"]] = tally["n"]
        callers[tally["active__plan_id"]] = tally["callers"]
    # Every copy in one pass: a live key's copy in a place its tier no longer covers, and a
    # revoked key's copy that reached AWS, hold their place until the worker deleted them.
    leaving: dict[LocationKey, int] = {}
    copies = (
        KeyCopy.objects.alias(active=_active_tier("key__customer"))
        .values("connection_id", "region", "active__plan_id")
        .annotate(
            live=Count("pk", filter=Q(key__revoked_at__isnull=True)),
            gone=Count("pk", filter=Q(key__revoked_at__isnull=False) & ~Q(aws_id="")),
        )
        .order_by()
    )
    for row in copies:
        key = place_key(row["connection_id"], row["region"], places.default_id)
        count = row["gone"]
        if key not in places.of(row["active__plan_id"]):
            count += row["live"]
        if count:
            leaving[key] = leaving.get(key, 0) + count
    return KeyCensus(places, keys, callers, leaving)


def _figures(keys: KeyCensus) -> dict[str, dict[LocationKey, Decimal]]:
    return {
        API_KEYS: keys.used(),
        THROTTLE: keys.throttle(),
        UNTHROTTLED: keys.unthrottled(),
        USAGE_PLANS: usage_plans_used(keys.places.default_id, keys.places),
    }


def census(default_id: int | None) -> Counts:
    """Every figure of every place, the usage plans' too, so that the tiers' places are read
    once, and the tiers with the most keys in each (registered in KeysConfig.ready)."""
    keys = key_census(default_id)
    tops = {key: keys.top_tiers(key) for key in keys.places.all_places()}
    return Counts(_figures(keys), tops)


def capacity_report(foreign: Mapping[LocationKey, Foreign] | None = None) -> list[PlaceCapacity]:
    """Every place's figures, counted now, and its tiers with the most keys; `foreign`: what
    the last reconcile found made outside Tollgate (the pages read `recent_counts` instead)."""
    return place_capacities(census(default_connection_id()), foreign)


def _locations(keys: Iterable[LocationKey]) -> dict[LocationKey, Location]:
    """Each place's Location (for the refusal's words), its connections read once."""
    wanted = list(keys)
    resolver = Locations(connection_id for connection_id, _ in wanted)
    return {key: resolver.at(*key) for key in wanted}


def refuse_new_key_past_cap(customer: Customer) -> None:
    """Before a key is made for `customer`: it gets a copy in every place of their tier."""
    keys = key_census(default_connection_id())
    tier_id = (
        Subscription.objects.active()
        .filter(customer=customer)
        .values_list("plan_id", flat=True)
        .first()
    )
    wanted = keys.places.of(tier_id)
    places = _locations(wanted)
    refuse_past_cap(API_KEYS, dict.fromkeys(wanted, 1), keys.used(), places, NEW_KEY_ADVICE)


def refuse_import_past_cap(tier_ids: Iterable[int]) -> None:
    """Before an import keeps its rows (one tier id a row: the row's customer's): each key gets
    a copy in every place of its tier, as do the rows of imports still running, which are not
    keys yet. Refused as a whole: an import stopped by AWS half-way would leave the rest to
    upload again."""
    keys = key_census(default_connection_id())
    running = (
        KeyImportRow.objects.filter(
            status=KeyImportRowStatus.PENDING,
            key_import__status__in=[KeyImportStatus.QUEUED, KeyImportStatus.RUNNING],
        )
        .alias(active=_active_tier("customer"))
        .values("active__plan_id")
        .annotate(n=Count("pk"))
        .order_by()
    )

    def per_place(rows: Mapping[int | None, int]) -> Counter[LocationKey]:
        found: Counter[LocationKey] = Counter()
        for tier_id, count in rows.items():
            for place in keys.places.of(tier_id):
                found[place] += count
        return found

    adding = per_place(Counter(tier_ids))
    coming = per_place({tally["active__plan_id"]: tally["n"] for tally in running})
    now = keys.used()
    used = {key: now.get(key, Decimal(0)) + coming[key] for key in adding}
    places = _locations(adding)
    refuse_past_cap(API_KEYS, adding, used, places, IMPORT_ADVICE)


def refuse_keys_joining_past_cap(
    *, plan: Plan, customer: Customer | None, places: dict[LocationKey, Location], **_: Any
) -> None:
    """The keys of `customer` (None: of every customer on `plan`) would get a copy in each of
    `places`: refuse where that passes the limit (plans.signals.keys_joining_places)."""
    live = ApiKey.objects.live()
    if customer is not None:
        moving = live.filter(customer=customer).count()
    else:
        moving = live.filter(
            customer__subscriptions__in=Subscription.objects.active().filter(plan=plan)
        ).count()
    if not moving:
        return
    used = key_census(default_connection_id()).used()
    refuse_past_cap(API_KEYS, dict.fromkeys(places, moving), used, places, MOVE_ADVICE)
