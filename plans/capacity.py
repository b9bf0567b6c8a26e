"""How many usage plans each account and region holds, and the refusal of a tier change that
would pass API Gateway's 300 (portal/connections/capacity.py has the figures' shape).

A place's count is what AWS will hold once the syncs ran: every live tier covering it (its
usage plan exists there, or is about to), plus the copies still there of tiers that left it
(archived, or their stages moved) until the worker deletes them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from plans.locations import stage_locations, tier_locations
from plans.models import ApiStage, Plan, PlanCopy
from plans.signals import keys_joining_places
from portal.aws.location import Location
from portal.connections.capacity import (
    USAGE_PLANS,
    LocationKey,
    default_connection_id,
    place_key,
    refuse_past_cap,
)
from portal.connections.locations import home_location
from portal.customers.models import Customer

ADD_PLACE_ADVICE = (
    "delete usage plans Tollgate does not use there, ask AWS to raise the quota, or cover "
    "stages in another region or account."
)


@dataclass(frozen=True)
class Tier:
    pk: int
    name: str
    throttle_rate: Decimal | None  # None: no rate limit of its own
    places: frozenset[LocationKey]


@dataclass(frozen=True)
class TierPlaces:
    """Every live tier's places, read with three queries."""

    tiers: dict[int, Tier]
    home: LocationKey
    default_id: int | None

    def of(self, plan_id: int | None) -> frozenset[LocationKey]:
        """Where a key of a customer on `plan_id` has copies (no tier: the home place)."""
        tier = self.tiers.get(plan_id) if plan_id is not None else None
        return tier.places if tier is not None else frozenset({self.home})

    def all_places(self) -> set[LocationKey]:
        return {self.home}.union(*(tier.places for tier in self.tiers.values()))


def tier_places(default_id: int | None = None) -> TierPlaces:
    default_id = default_id if default_id is not None else default_connection_id()
    home = home_location().key
    tiers = {
        pk: (name, rate)
        for pk, name, rate in Plan.objects.live().values_list("pk", "name", "throttle_rate")
    }
    found: dict[int, set[LocationKey]] = {pk: set() for pk in tiers}
    rows = Plan.stages.through.objects.filter(plan_id__in=tiers).values_list(
        "plan_id", "apistage__connection_id", "apistage__region"
    )
    for plan_id, connection_id, region in rows:
        found[plan_id].add(place_key(connection_id, region, default_id))
    return TierPlaces(
        tiers={
            pk: Tier(pk, name, rate, frozenset(found[pk] or {home}))
            for pk, (name, rate) in tiers.items()
        },
        home=home,
        default_id=default_id,
    )


def usage_plans_used(
    default_id: int | None, places: TierPlaces | None = None
) -> dict[LocationKey, Decimal]:
    """Usage plans per place, once every sync ran. `places`: already read."""
    places = places or tier_places(default_id)
    used: dict[LocationKey, Decimal] = {}
    for tier in places.tiers.values():
        for key in tier.places:
            used[key] = used.get(key, Decimal(0)) + 1
    leaving = PlanCopy.objects.exclude(aws_id="").values_list("plan_id", "connection_id", "region")
    for plan_id, connection_id, region in leaving:
        key = place_key(connection_id, region, default_id)
        left = places.tiers.get(plan_id)
        if left is None or key not in left.places:
            used[key] = used.get(key, Decimal(0)) + 1
    return used


def _places_of(stages: Iterable[ApiStage]) -> dict[LocationKey, Location]:
    stage_list = list(stages)
    if not stage_list:
        home = home_location()
        return {home.key: home}
    return {location.key: location for location in stage_locations(stage_list).values()}


def refuse_tier_past_caps(*, plan: Plan, stages: Iterable[ApiStage]) -> None:
    """Before a tier is saved covering `stages`: each place it newly covers gets a usage plan,
    and (for a tier with customers) a copy of each of their keys; refuse where AWS's limit
    would be passed. `plan` is unsaved for a new tier."""
    new = _places_of(stages)
    default_id = default_connection_id()
    old: set[LocationKey] = set()
    if plan.pk:
        # A usage plan still in a place the tier left is the one it would use again there.
        copies = plan.copies.exclude(aws_id="").values_list("connection_id", "region")
        old = {place.key for place in tier_locations(plan)}
        old |= {place_key(connection_id, region, default_id) for connection_id, region in copies}
    adding = {key: location for key, location in new.items() if key not in old}
    if not adding:
        return
    refuse_past_cap(
        USAGE_PLANS,
        dict.fromkeys(adding, 1),
        usage_plans_used(default_id),
        adding,
        ADD_PLACE_ADVICE,
        field="stages",
    )
    if plan.pk:
        keys_joining_places.send(sender=Plan, plan=plan, customer=None, places=adding)


def refuse_switch_past_caps(*, customer: Customer, current: Plan | None, plan: Plan) -> None:
    """Before `customer` moves to `plan`: their keys get a copy in each place `plan` covers
    that their tier did not (keys/capacity.py counts and refuses)."""
    new = {place.key: place.location for place in tier_locations(plan)}
    old = (
        {place.key for place in tier_locations(current)}
        if current is not None
        else {home_location().key}
    )
    adding = {key: location for key, location in new.items() if key not in old}
    if adding:
        keys_joining_places.send(sender=Plan, plan=plan, customer=customer, places=adding)
