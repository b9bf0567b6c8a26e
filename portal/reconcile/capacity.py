"""The capacity figures the pages show: the recent counts (portal/reconcile/counts.py) with what
the last reconcile found in AWS that Tollgate did not make, place by place (ReconcileRun.places)."""

from __future__ import annotations

from django.conf import settings

from portal.connections.capacity import (
    Foreign,
    LocationKey,
    PlaceCapacity,
    default_connection_id,
    place_capacities,
    place_key,
    recent_counts,
)
from portal.reconcile.selectors import latest_run


def foreign_by_place() -> dict[LocationKey, Foreign]:
    """Keys and usage plans made outside Tollgate in each place the last reconcile read."""
    run = latest_run()
    if run is None:
        return {}
    default_id = default_connection_id()
    found: dict[LocationKey, Foreign] = {}
    for figures in run.places.values():
        if figures.get("error") or "foreign_keys" not in figures:
            continue  # not read, or counted by a Tollgate from before these figures
        key = place_key(figures.get("connection_id"), str(figures["region"]), default_id)
        found[key] = Foreign(
            key=key,
            api_keys=int(figures["foreign_keys"]),
            usage_plans=int(figures["foreign_usage_plans"]),
        )
    if not run.places:  # a run from before places were recorded: the one place it read
        key = place_key(None, settings.AWS_REGION, default_id)
        found[key] = Foreign(
            key=key,
            api_keys=run.foreign_key_count,
            usage_plans=len(run.foreign_usage_plans),
        )
    return found


def capacity_with_foreign() -> list[PlaceCapacity]:
    """The console's capacity page and GET /api/v1/capacity."""
    return place_capacities(recent_counts(), foreign_by_place())
