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


def place_labels(stages: list[ApiStage] | tuple[ApiStage, ...]) -> list[str]:
    """The places `stages` are in, as customers may read them: the region, with the account's
    connection name only where two accounts share a region."""
    places: dict[tuple[int | None, str], ApiStage] = {}
    for stage in stages:
        places.setdefault((stage.connection_id, stage.region), stage)
    regions = [region for _, region in places]
    labels = []
    for (_, region), stage in sorted(
        places.items(), key=lambda item: (item[0][1], item[0][0] or 0)
    ):
        shared = regions.count(region) > 1
        name = stage.connection.name if shared and stage.connection is not None else ""
        labels.append(f"{region} ({name})" if name else region)
    return labels


def quota_scope_words(plan: Plan, stages: list[ApiStage] | tuple[ApiStage, ...]) -> str:
    """How the tier's quota applies across places, truthfully: API Gateway meters a quota per
    key per usage plan, and a tier is one usage plan per account and region, so each place
    counts its own quota. "" for a tier in one place (or without a quota)."""
    labels = place_labels(stages)
    if not plan.has_quota or len(labels) < 2:
        return ""
    return (
        f"{plan.quota_words} in each of its {len(labels)} regions ({', '.join(labels)}): "
        "each region counts its own requests"
    )


def usage_plan_id_at(plan: Plan, location: Location) -> str:
    """The id of the tier's usage plan in `location` ("" if it has none there yet)."""
    copy = plan.copies.filter(connection_id=location.connection_id, region=location.region).first()
    return copy.aws_id if copy is not None else ""


def lives_only_at(plan: Plan, location: Location) -> bool:
    """The tier's one place is `location` (a key made there needs no copy elsewhere)."""
    return [place.key for place in tier_locations(plan)] == [location.key]
