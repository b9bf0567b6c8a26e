"""Reads of sync health and drift that the drift page, the console overview and the REST API
share: how many tiers and keys stand where, and each drifted object as one row."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Model, Q, QuerySet

from keys.models import ApiKey
from plans.models import Plan
from portal.reconcile.drift import (
    can_accept_aws,
    copy_count,
    drift_places,
    is_deleted_in_aws,
    is_partly_deleted,
)
from portal.reconcile.models import ReconcileRun
from portal.sync import SyncState, SyncStatus

UNSETTLED = (SyncStatus.PENDING, SyncStatus.FAILED)


def latest_run() -> ReconcileRun | None:
    return ReconcileRun.objects.filter(finished_at__isnull=False, dry_run=False).first()


def drifted(model: type[Model]) -> QuerySet[Any]:
    return model._default_manager.filter(sync_status=SyncStatus.DRIFTED)


def status_counts(model: type[SyncState]) -> dict[str, int]:
    """How many rows of `model` are in each sync status (every status present), in one query."""
    counts = model._default_manager.aggregate(
        **{status: Count("pk", filter=Q(sync_status=status)) for status in SyncStatus.values}
    )
    return {status: counts[status] or 0 for status in SyncStatus.values}


@dataclass(frozen=True)
class SyncHealth:
    tiers: dict[str, int]
    keys: dict[str, int]
    last_reconcile: ReconcileRun | None


def sync_health() -> SyncHealth:
    return SyncHealth(
        tiers=status_counts(Plan), keys=status_counts(ApiKey), last_reconcile=latest_run()
    )


# --- drift --------------------------------------------------------------------------------------


def drifted_tiers() -> QuerySet[Plan]:
    # How many places each is in: a row says whether settling it reaches other places too.
    return Plan.objects.filter(sync_status=SyncStatus.DRIFTED).annotate(copy_places=Count("copies"))


def drifted_keys() -> QuerySet[ApiKey]:
    return (
        ApiKey.objects.filter(sync_status=SyncStatus.DRIFTED)
        .select_related("customer")
        .annotate(copy_places=Count("copies"))
    )


def drift_counts() -> dict[str, int]:
    return {"tiers": drifted_tiers().count(), "keys": drifted_keys().count()}


@dataclass(frozen=True)
class DriftRow:
    """One drifted tier or key: what differs in AWS, and how an admin may settle it."""

    obj: SyncState
    differences: list[dict[str, Any]]  # {"field", "ours", "aws", "where"}, as found
    detected_at: str | None
    can_accept: bool  # AWS's values can be written back here
    deleted: bool  # deleted in AWS, in every place it was in
    places: list[dict[str, Any]]  # {"where", "region", "connection_id", "differences", "aws"}
    partly_deleted: bool  # deleted in some places, still in others
    several: bool  # it has copies in more than one place: settling it reaches them all

    @property
    def kind(self) -> str:
        return "key" if isinstance(self.obj, ApiKey) else "tier"

    @property
    def ident(self) -> str:
        """How URLs name it: a key's public id, a tier's slug."""
        if isinstance(self.obj, ApiKey):
            return str(self.obj.public_id)
        assert isinstance(self.obj, Plan)
        return self.obj.slug

    @property
    def customer_id(self) -> int | None:
        return self.obj.customer_id if isinstance(self.obj, ApiKey) else None


def drift_row(obj: SyncState) -> DriftRow:
    drift = obj.drift or {}
    copy_places = getattr(obj, "copy_places", None)  # annotated by drifted_tiers / drifted_keys
    return DriftRow(
        obj=obj,
        differences=list(drift.get("differences", [])),
        detected_at=drift.get("detected_at"),
        can_accept=can_accept_aws(obj),
        deleted=is_deleted_in_aws(obj),
        places=drift_places(obj),
        partly_deleted=is_partly_deleted(obj),
        several=(copy_places if isinstance(copy_places, int) else copy_count(obj)) > 1,
    )


def drift_rows(*, keys_limit: int = 200) -> list[DriftRow]:
    """The drift page: every drifted tier, then drifted keys (at most `keys_limit`)."""
    objects: list[SyncState] = [*drifted_tiers(), *drifted_keys()[:keys_limit]]
    return [drift_row(obj) for obj in objects]


def unsettled_tiers() -> QuerySet[Plan]:
    """Tiers still waiting for API Gateway, or failed there."""
    return Plan.objects.filter(sync_status__in=UNSETTLED)


def unsettled_keys() -> QuerySet[ApiKey]:
    return (
        ApiKey.objects.filter(sync_status__in=UNSETTLED)
        .select_related("customer")
        .order_by("sync_status", "-sync_requested_at")
    )
