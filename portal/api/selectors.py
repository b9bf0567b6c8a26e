"""Reads the API needs beyond a queryset; the figures come from the pages' own selectors."""

from __future__ import annotations

import datetime
from typing import Any

from django.db.models import Count, Q

from keys.models import ApiKey
from plans.models import Plan
from portal.customers.models import Customer
from portal.reconcile.services import can_accept_aws, is_deleted_in_aws, latest_run
from portal.sync import SyncState, SyncStatus
from portal.usage.selectors import customer_usage


def usage_summary(customer: Customer, today: datetime.date) -> dict[str, Any]:
    """The usage page's figures (portal.usage.selectors.customer_usage), shaped for the API."""
    usage = customer_usage(customer, today)
    plan = usage.plan
    return {
        "customer": customer.pk,
        "customer_name": customer.name,
        "tier": plan.slug if plan else None,
        "quota_limit": plan.quota_limit if plan else None,
        "quota_period": (plan.quota_period or None) if plan else None,
        "period_start": usage.period_start,
        "period_end": usage.period_end,
        "used": usage.total_used,
        "keys": [
            {
                "key": row.key.public_id,
                "name": row.key.name,
                "used": row.used,
                "remaining": row.remaining,
            }
            for row in usage.keys
        ],
    }


def status_counts(model: type[SyncState]) -> dict[str, int]:
    counts = model._default_manager.aggregate(
        **{status: Count("pk", filter=Q(sync_status=status)) for status in SyncStatus.values}
    )
    return {status: counts[status] for status in SyncStatus.values}


def sync_status() -> dict[str, Any]:
    run = latest_run()
    return {
        "tiers": status_counts(Plan),
        "keys": status_counts(ApiKey),
        "last_reconcile": None
        if run is None
        else {
            "started_at": run.started_at,
            "finished_at": run.finished_at,
            "summary": run.summary,
            "error": run.error,
        },
    }


def drift_row(obj: SyncState) -> dict[str, Any]:
    drift = obj.drift or {}
    if isinstance(obj, ApiKey):
        kind, ident, customer = "key", str(obj.public_id), obj.customer_id
    else:
        assert isinstance(obj, Plan)
        kind, ident, customer = "tier", obj.slug, None
    return {
        "kind": kind,
        "id": ident,
        "name": str(obj),
        "customer": customer,
        "detected_at": drift.get("detected_at"),
        "differences": [
            {"field": str(d.get("field")), "ours": str(d.get("ours")), "aws": str(d.get("aws"))}
            for d in drift.get("differences", [])
        ],
        "can_accept_aws": can_accept_aws(obj),
        "deleted_in_aws": is_deleted_in_aws(obj),
    }
