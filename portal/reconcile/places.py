"""The accounts and regions one reconcile pass reads, and what AWS holds in each.

Each place is read inside `at(location)`, so it spends its own rate budget, with the calls a
single-region pass always made: the pages of GetUsagePlans and GetApiKeys, and the pages of
GetUsagePlanKeys of each of Tollgate's usage plans there. A place that cannot be read (access
denied, unreachable) records why and is left out; the others are compared all the same.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from portal.aws import apigateway as aws
from portal.aws.location import Location, at
from portal.connections.locations import (
    Locations,
    all_locations,
    default_connection,
    home_location,
)
from portal.connections.models import AwsCopy
from portal.errors import PermanentSyncError, TransientSyncError
from portal.reconcile.report import LocationKey, PlaceFigures, ReconcileReport, owner_of

logger = logging.getLogger(__name__)

Copy = TypeVar("Copy", bound=AwsCopy)


def pages(items: int) -> int:
    """GetXxx requests a listing of `items` took (a listing of nothing is one request too)."""
    return max(1, -(-items // aws.PAGE_SIZE))


@dataclass
class PlaceInAws:
    """What one account and region held when the pass read it."""

    location: Location
    where: str
    figures: PlaceFigures
    plans: dict[str, dict[str, Any]] = field(default_factory=dict)  # usage plans by id
    keys: dict[str, aws.AwsApiKey] = field(default_factory=dict)  # API keys by id
    members: dict[str, set[str]] = field(default_factory=dict)  # key id -> our usage plans


def read_place(place: PlaceInAws, ours: set[str]) -> None:
    """Fill `place` from AWS. `ours`: ids of usage plans Tollgate holds there without its tag
    (adopted ones); their keys are listed as well as those of tagged plans."""
    figures = place.figures
    with at(place.location):
        place.plans = {plan["id"]: plan for plan in aws.list_usage_plans()}
        figures.plans, figures.calls = len(place.plans), pages(len(place.plans))
        place.keys = {key.aws_id: key for key in aws.list_api_keys()}
        figures.keys = len(place.keys)
        figures.calls += pages(len(place.keys))
        members: dict[str, set[str]] = defaultdict(set)
        for plan_id, plan in place.plans.items():
            if owner_of(plan.get("tags"))[0] != "plan" and plan_id not in ours:
                continue  # someone else's: its keys are not ours to check
            found = aws.keys_of_usage_plan(plan_id)
            figures.calls += pages(len(found))
            for key_id in found:
                members[key_id].add(plan_id)
        place.members = dict(members)


class Estate:
    """Every place of the pass, by (connection id, region). A copy recorded before connections
    existed has no connection: it is the default connection's (Locations.at says the same)."""

    def __init__(self) -> None:
        default = default_connection()
        self.default_id = default.pk if default is not None else None
        self.locations = all_locations()
        self.home = home_location()
        self.home_key = self.canonical(self.home.key)
        self.read: dict[LocationKey, PlaceInAws] = {}
        self._resolver = Locations()

    @property
    def several(self) -> bool:
        """More than one place: lines and messages then say where."""
        return len(self.locations) > 1

    def canonical(self, key: LocationKey) -> LocationKey:
        return (self.default_id, key[1]) if key[0] is None else key

    def where(self, location: Location) -> str:
        """ "eu-west-1" in the default connection, "Partner · us-east-1" in another."""
        if location.connection_id in (None, self.default_id):
            return location.region
        return location.label

    def where_key(self, key: LocationKey) -> str:
        place = self.read.get(key)
        return place.where if place is not None else self.where(self._resolver.at(*key))

    def read_all(self, report: ReconcileReport, ours: dict[LocationKey, set[str]]) -> None:
        for location in self.locations:
            key = self.canonical(location.key)
            where = self.where(location)
            figures = report.places.setdefault(
                where, PlaceFigures(connection_id=location.connection_id, region=location.region)
            )
            place = PlaceInAws(location, where, figures)
            try:
                read_place(place, ours.get(key, set()))
            except (TransientSyncError, PermanentSyncError) as exc:
                place.figures.error = str(exc)[:500]
                logger.warning("reconcile could not read %s: %s", where, exc)
                continue
            self.read[key] = place

    def copies_of(
        self, rows: Iterable[Copy], aws_id: str, legacy: Callable[[], Copy]
    ) -> dict[LocationKey, Copy]:
        """The copies of a tier or key by place. One synced before copies existed (its
        `aws_id` but no copy yet) has its one in the home place, as its sync will record."""
        copies = {self.canonical(copy.location_key): copy for copy in rows}
        if not copies and aws_id:
            copies[self.home_key] = legacy()
        return copies

    def remove(self, place: PlaceInAws, what: str, delete: Callable[[], None]) -> None:
        """Delete a leftover in `place`; a failure is that place's error, not the pass's."""
        try:
            with at(place.location):
                delete()
        except (TransientSyncError, PermanentSyncError) as exc:
            place.figures.error = f"Could not delete {what}: {exc}"[:500]
