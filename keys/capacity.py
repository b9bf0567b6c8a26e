"""How many API keys each account and region holds, what their tiers let them ask of the
account's throttle, and the refusals of what would pass API Gateway's 10,000 keys there.

A key has a copy in every place its tier covers (keys/sync.py). A place's count is what AWS
will hold once the syncs ran: a copy of every live key whose tier covers it, plus the copies
still there of keys that left it (revoked, or their tier moved) until the worker deletes them.
Keys made outside Tollgate count against the same limit; only the reconciler sees those.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Count, OuterRef, Q, Subquery
from django.utils import timezone

from keys.models import ApiKey, KeyCopy
from plans.capacity import TierPlaces, tier_places, usage_plans_used
from plans.models import Plan, Subscription
from portal.aws.location import Location
from portal.connections.capacity import (
    API_KEYS,
    THROTTLE,
    UNTHROTTLED,
    USAGE_PLANS,
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
MOVE_ADVICE = (
    "add a region or another AWS account to the tier, or revoke unused keys in that account "
    "and region."
)


def _active_tier(customer_field: str) -> Subquery:
    return Subquery(
        Subscription.objects.active()
        .filter(customer_id=OuterRef(customer_field))
        .values("plan_id")[:1]
    )


@dataclass(frozen=True)
class KeyCensus:
    """Live keys by tier (None: no tier) and the copies already in each place, from three
    aggregate queries whatever the number of keys."""

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
        .annotate(tier=_active_tier("customer_id"))
        .values("tier")
        .annotate(n=Count("pk"), callers=Count("pk", filter=can_call))
    )
    for tally in rows:
        keys[tally["tier"]] = tally["n"]
        callers[tally["tier"]] = tally["callers"]
    leaving: dict[LocationKey, int] = {}
    copies = (
        KeyCopy.objects.filter(key__revoked_at__isnull=True)
        .annotate(tier=_active_tier("key__customer_id"))
        .values("connection_id", "region", "tier")
        .annotate(n=Count("pk"))
    )
    for row in copies:
        key = place_key(row["connection_id"], row["region"], places.default_id)
        if key not in places.of(row["tier"]):
            leaving[key] = leaving.get(key, 0) + row["n"]
    # A revoked key's copy holds its place until the worker deleted it from AWS.
    gone = (
        KeyCopy.objects.filter(key__revoked_at__isnull=False)
        .exclude(aws_id="")
        .values("connection_id", "region")
        .annotate(n=Count("pk"))
    )
    for copy in gone:
        key = place_key(copy["connection_id"], copy["region"], places.default_id)
        leaving[key] = leaving.get(key, 0) + copy["n"]
    return KeyCensus(places, keys, callers, leaving)


def _figures(keys: KeyCensus) -> dict[str, dict[LocationKey, Decimal]]:
    return {
        API_KEYS: keys.used(),
        THROTTLE: keys.throttle(),
        UNTHROTTLED: keys.unthrottled(),
        USAGE_PLANS: usage_plans_used(keys.places.default_id, keys.places),
    }


def census(default_id: int | None) -> dict[str, dict[LocationKey, Decimal]]:
    """Every figure of every place, the usage plans' too, so that the tiers' places are read
    once (registered in KeysConfig.ready for the kernel's pages)."""
    return _figures(key_census(default_id))


def capacity_report(foreign: Mapping[LocationKey, Foreign] | None = None) -> list[PlaceCapacity]:
    """Every place's figures and its tiers with the most keys (the console's capacity page and
    GET /api/v1/capacity); `foreign`: what the last reconcile found made outside Tollgate."""
    keys = key_census(default_connection_id())
    tops = {key: keys.top_tiers(key) for key in keys.places.all_places()}
    return place_capacities(_figures(keys), foreign, tops)


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
    resolver = Locations(connection_id for connection_id, _ in wanted)
    places = {key: resolver.at(*key) for key in wanted}
    refuse_past_cap(API_KEYS, dict.fromkeys(wanted, 1), keys.used(), places, NEW_KEY_ADVICE)


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
