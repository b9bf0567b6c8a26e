"""Where a tier lives: one usage plan per account and region its stages are in.

API Gateway's usage plans, keys and quotas are per account and region, so a tier covering
stages in us-east-1 and eu-west-1 is two usage plans, and its customers' keys are two copies
each (keys/sync.py) with the same value. A tier without stages keeps its one usage plan in the
home location (the default connection's first region).
"""

from __future__ import annotations

from dataclasses import dataclass

from plans.models import ApiStage, Plan, PlanCopy
from portal.aws.location import Location
from portal.connections.locations import Locations, home_location

LocationKey = tuple[int | None, str]


@dataclass(frozen=True)
class TierLocation:
    location: Location
    stages: tuple[ApiStage, ...]

    @property
    def key(self) -> LocationKey:
        return self.location.key


def stage_locations(stages: list[ApiStage]) -> dict[int, Location]:
    """Each stage's account and region, by stage id (one query for the connections)."""
    resolver = Locations(stage.connection_id for stage in stages)
    return {stage.pk: resolver.at(stage.connection_id, stage.region) for stage in stages}


def tier_locations(plan: Plan) -> list[TierLocation]:
    """The accounts and regions `plan` covers, home first, then by connection and region."""
    stages = list(plan.stages.all())
    if not stages:
        return [TierLocation(home_location(), ())]
    where = stage_locations(stages)
    grouped: dict[LocationKey, list[ApiStage]] = {}
    locations: dict[LocationKey, Location] = {}
    for stage in stages:
        location = where[stage.pk]
        grouped.setdefault(location.key, []).append(stage)
        locations[location.key] = location
    home = home_location().key
    order = sorted(grouped, key=lambda k: (k != home, k[0] or 0, k[1]))
    return [TierLocation(locations[k], tuple(grouped[k])) for k in order]


def copies_by_location(plan: Plan) -> dict[LocationKey, PlanCopy]:
    return {copy.location_key: copy for copy in plan.copies.all()}
