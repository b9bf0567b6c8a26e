"""Where a rotation's quota moves: each account and region of the tier, with the old and the
new key's copies there (keys/rotation.py runs its steps in each)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from keys.models import ApiKey
from plans.models import Plan
from portal.aws.location import Location
from portal.connections.locations import Locations, home_location


@dataclass(frozen=True)
class QuotaPlace:
    """One account and region of the tier: its usage plan and each key's copy there ("": the
    key has none there)."""

    location: Location
    plan_aws_id: str
    old_aws_id: str
    new_aws_id: str
    first: bool  # the tier's first place: its steps are the state's own keys


def quota_places(plan: Plan, old: ApiKey, new: ApiKey) -> list[QuotaPlace]:
    """Where the tier meters quotas (one usage plan per account and region), first place first.
    A tier or key synced before copies existed is in its first place only."""
    plans = {c.location_key: c.aws_id for c in plan.copies.all() if c.aws_id}
    if not plans and plan.aws_id:
        plans = {home_location().key: plan.aws_id}
    first = next((k for k, v in plans.items() if v == plan.aws_id), next(iter(plans), None))

    def ids(key: ApiKey) -> dict[tuple[int | None, str], str]:
        copies = list(key.copies.all())
        if not copies and key.aws_id and first is not None:
            return {first: key.aws_id}
        return {c.location_key: c.aws_id for c in copies if c.aws_id}

    old_ids, new_ids = ids(old), ids(new)
    resolver = Locations(connection_id for connection_id, _ in plans)
    places = [
        QuotaPlace(resolver.at(*k), v, old_ids.get(k, ""), new_ids.get(k, ""), k == first)
        for k, v in plans.items()
    ]
    return sorted(places, key=lambda place: not place.first)


def steps_of(state: dict[str, Any], place: QuotaPlace) -> dict[str, Any]:
    """The carry and settle steps of `place`: the first place's are the state's own (as before
    tiers had several places), another's are under "places", by "connection id:region"."""
    if place.first:
        return state
    name = f"{place.location.connection_id or ''}:{place.location.region}"
    return state.setdefault("places", {}).setdefault(name, {})
