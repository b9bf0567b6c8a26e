"""What one reconcile pass found, and how it records drift on a tier or key.

A tier or key has a copy in every account and region it covers (portal/connections/models.
AwsCopy), so a drift says where: the parent's `drift` JSON holds one entry per place that
differs, `{"where", "connection_id", "region", "differences", "aws"}`, with AWS's values there.
`differences` at the top repeats them all, each with its `where`, for readers of one list.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils import timezone

from portal.aws import apigateway as aws
from portal.sync import SyncState, SyncStatus, bump_desired_version, schedule_sync

DELETED_IN_AWS = "deleted in AWS"
LocationKey = tuple[int | None, str]


@dataclass
class PlaceFigures:
    """One account and region in a pass: what AWS listed there, what it cost, what was found."""

    plans: int = 0
    keys: int = 0
    calls: int = 0
    in_sync: int = 0
    drifted: int = 0
    missing: int = 0
    error: str = ""
    # Where it is, and what AWS held there that Tollgate did not make (the capacity page).
    connection_id: int | None = None
    region: str = ""
    foreign_keys: int = 0
    foreign_usage_plans: int = 0

    def as_json(self) -> dict[str, Any]:
        return {
            "connection_id": self.connection_id,
            "region": self.region,
            "foreign_keys": self.foreign_keys,
            "foreign_usage_plans": self.foreign_usage_plans,
            "plans": self.plans,
            "keys": self.keys,
            "calls": self.calls,
            "in_sync": self.in_sync,
            "drifted": self.drifted,
            "missing": self.missing,
            "error": self.error,
        }


@dataclass
class ReconcileReport:
    checked_tiers: int = 0
    checked_keys: int = 0
    in_sync: int = 0
    resync: list[str] = field(default_factory=list)
    drifted: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    foreign_usage_plans: list[dict[str, Any]] = field(default_factory=list)
    foreign_key_count: int = 0
    places: dict[str, PlaceFigures] = field(default_factory=dict)

    def summary(self) -> dict[str, int]:
        return {
            "tiers_checked": self.checked_tiers,
            "keys_checked": self.checked_keys,
            "in_sync": self.in_sync,
            "resync": len(self.resync),
            "drifted": len(self.drifted),
            "removed": len(self.removed),
            "foreign_usage_plans": len(self.foreign_usage_plans),
            "foreign_keys": self.foreign_key_count,
            "places": len(self.places),
            "places_failed": sum(1 for figures in self.places.values() if figures.error),
        }

    def places_json(self) -> dict[str, dict[str, Any]]:
        return {where: figures.as_json() for where, figures in self.places.items()}

    def lines(self) -> list[str]:
        out = [f"resync   {line}" for line in self.resync]
        out += [f"drifted  {line}" for line in self.drifted]
        out += [f"remove   {line}" for line in self.removed]
        out += [
            f"foreign  usage plan {p['id']} “{p['name']}” in {p.get('where') or 'AWS'} "
            "(not created by Tollgate; import it on the console)"
            for p in self.foreign_usage_plans
        ]
        if self.foreign_key_count:
            out.append(f"foreign  {self.foreign_key_count} API keys not created by Tollgate")
        out += [
            f"failed   {where}: {figures.error} (not compared this time)"
            for where, figures in self.places.items()
            if figures.error
        ]
        return out


def owner_of(tags: dict[str, str] | None) -> tuple[str, str]:
    """('plan', '12') or ('key', '<uuid>') from our tag; ('', '') for a foreign object."""
    kind, _, ident = (tags or {}).get(aws.OWNER_TAG, "").partition(":")
    return kind, ident


def differences_json(differences: list[aws.Difference]) -> list[dict[str, str]]:
    return [{"field": d.field, "ours": d.ours, "aws": d.aws} for d in differences]


def place_drift(
    where: str, key: LocationKey, differences: list[aws.Difference], aws_state: Any
) -> dict[str, Any]:
    """One place's entry of a drift (`aws_state`: AWS's values there, None if deleted there)."""
    return {
        "where": where,
        "connection_id": key[0],
        "region": key[1],
        "differences": differences_json(differences),
        "aws": aws_state,
    }


def deleted_there(aws_id: str, kind: str) -> aws.Difference:
    return aws.Difference(kind, f"exists ({aws_id})", DELETED_IN_AWS)


def mark_drifted(obj: SyncState, places: list[dict[str, Any]]) -> None:
    """Record the places where `obj` differs; a drift already recorded as found stays as it
    is (its first sighting), so a pass writes only to rows whose drift changed."""
    if obj.sync_status == SyncStatus.DRIFTED and (obj.drift or {}).get("places") == places:
        return
    type(obj)._default_manager.filter(
        pk=obj.pk,
        desired_version=obj.desired_version,
        sync_status__in=[SyncStatus.SYNCED, SyncStatus.DRIFTED],
    ).update(
        sync_status=SyncStatus.DRIFTED,
        drift={
            "detected_at": timezone.now().isoformat(),
            "places": places,
            "differences": [
                {**difference, "where": place["where"]}
                for place in places
                for difference in place["differences"]
            ],
            "aws": places[0]["aws"] if places else None,
        },
    )


def confirm(model: type[SyncState], pks: list[int]) -> None:
    """These drifted rows equal AWS again: clear the drift and record the time."""
    if pks:
        model._default_manager.filter(
            pk__in=pks, sync_status__in=[SyncStatus.SYNCED, SyncStatus.DRIFTED]
        ).update(sync_status=SyncStatus.SYNCED, synced_at=timezone.now(), drift=None)


def forget_pushed(obj: SyncState) -> None:
    """AWS may not hold what Tollgate last wrote there: the next sync reads it first."""
    copies = getattr(obj, "copies", None)  # Plan.copies, ApiKey.copies
    if copies is not None:
        copies.update(pushed=None)


def resync(obj: SyncState) -> None:
    with transaction.atomic():
        forget_pushed(obj)
        bump_desired_version(obj)
        schedule_sync(obj)


def plan_state_json(state: aws.UsagePlanSpec) -> dict[str, Any]:
    return {
        "name": state.name,
        "description": state.description,
        "stages": sorted(s.patch_value for s in state.stages),
        "throttle": None
        if state.throttle is None
        else {"rate": str(state.throttle.rate), "burst": state.throttle.burst},
        "quota": None
        if state.quota is None
        else {
            "limit": state.quota.limit,
            "period": state.quota.period,
            "offset": state.quota.offset,
        },
        "method_throttles": [
            {
                "stage": m.stage.patch_value,
                "resource_path": m.resource_path,
                "http_method": m.http_method,
                "rate": str(m.rate),
                "burst": m.burst,
            }
            for m in sorted(state.method_throttles, key=lambda m: (m.stage.patch_value, m.key))
        ],
    }
