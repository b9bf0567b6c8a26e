"""Extra quota: an admin lets a key make more requests in the current quota period
(UpdateUsage), in each account and region of its tier, since each meters a quota of its own."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from django.db.models import Sum
from django.utils import timezone

from keys.models import ApiKey
from plans.models import Plan, Subscription
from portal.audit.services import audit
from portal.aws import usage as aws_usage
from portal.aws.location import Location, at
from portal.connections.locations import Locations, home_location
from portal.errors import PermanentSyncError, Refused, TransientSyncError
from portal.usage.models import UsageDay
from portal.usage.periods import period_bounds


class ExtraQuotaRefused(Refused):
    """Extra quota cannot be granted to this key now (a 400 in the API)."""


@dataclass(frozen=True)
class QuotaPlace:
    """Where a key's quota is metered: its tier's usage plan and its own copy in one account
    and region (API Gateway keeps a quota per key and usage plan)."""

    location: Location
    plan_aws_id: str
    key_aws_id: str
    where: str  # "eu-west-1", or "Partner · us-east-1" outside the default connection


def quota_places(plan: Plan, key: ApiKey) -> list[QuotaPlace]:
    """Each account and region where both the tier's usage plan and the key are in AWS, the
    tier's first place first. A tier or key synced before copies existed is in the one place
    Tollgate knew then (the home location)."""
    copies = [c for c in plan.copies.select_related("connection") if c.aws_id]
    plans = {c.location_key: c.aws_id for c in copies}
    wheres = {c.location_key: c.where for c in copies}
    first = next((k for k, aws_id in plans.items() if aws_id == plan.aws_id), None)
    if not plans and plan.aws_id:
        first = home_location().key
        plans, wheres = {first: plan.aws_id}, {first: first[1]}
    key_copies = list(key.copies.all())
    keys = {c.location_key: c.aws_id for c in key_copies if c.aws_id}
    if not key_copies and key.aws_id and first is not None:
        keys = {first: key.aws_id}
    resolver = Locations(connection_id for connection_id, _ in plans)
    places = [
        QuotaPlace(resolver.at(*place), plan_aws_id, keys[place], wheres[place])
        for place, plan_aws_id in plans.items()
        if place in keys
    ]
    return sorted(places, key=lambda p: p.location.key != first)


def _remaining_at(
    key: ApiKey, plan: Plan, place: Location, today: datetime.date
) -> tuple[int, UsageDay | None]:
    """What the key has left at `place` now, as last collected, and today's row there."""
    period_start, _ = period_bounds(plan.quota_period, today)
    rows = UsageDay.objects.filter(
        key=key, plan=plan, connection_id=place.connection_id, region=place.region
    )
    latest = rows.filter(date=today).first()
    if latest is not None:
        return latest.remaining, latest
    # Without a row for today yet (before the day's first collection), the last collected day of
    # this period still carries any extension granted earlier in it; UpdateUsage *replaces* the
    # remaining quota, so starting from quota - used would silently take that extension back.
    earlier = rows.filter(date__gte=period_start, date__lt=today).order_by("-date").first()
    if earlier is not None:
        return earlier.remaining, None
    used = rows.filter(date__gte=period_start).aggregate(total=Sum("used"))["total"] or 0
    return max(0, (plan.quota_limit or 0) - used), None


def grant_extra_quota(*, actor: object, key: ApiKey, extra: int, ip: str | None = None) -> int:
    """Let a key make `extra` more requests in the current quota period (UpdateUsage), in each
    account and region of its tier: each has a quota of its own.

    Returns the new remaining quota (the smallest, where there are several). Recorded in the
    audit trail. A region AWS refused is named; the regions granted before it stay granted.
    """
    if extra < 1 or extra > 2_147_483_647:
        raise ExtraQuotaRefused("Grant between 1 and 2,147,483,647 extra requests.")
    subscription = (
        Subscription.objects.active().filter(customer=key.customer).select_related("plan").first()
    )
    if subscription is None or subscription.plan.quota_limit is None:
        raise ExtraQuotaRefused("This key's tier has no quota, so there is nothing to extend.")
    plan = subscription.plan
    places = [] if key.is_revoked else quota_places(plan, key)
    if not places:
        raise ExtraQuotaRefused("The key is not in API Gateway yet (or was revoked).")
    today = timezone.now().date()
    granted: dict[str, tuple[int, int]] = {}  # label: (before, after)
    refused = ""
    for place in places:
        remaining, latest = _remaining_at(key, plan, place.location, today)
        new_remaining = remaining + extra
        try:
            with at(place.location):
                aws_usage.set_remaining_quota(place.plan_aws_id, place.key_aws_id, new_remaining)
        except (TransientSyncError, PermanentSyncError) as exc:
            where = f" in {place.where}" if len(places) > 1 else ""
            refused = f"API Gateway did not take the change{where}: {exc}"
            break
        UsageDay.objects.update_or_create(
            key=key,
            date=today,
            connection_id=place.location.connection_id,
            region=place.location.region,
            defaults={
                "plan": plan,
                "remaining": new_remaining,
                "used": latest.used if latest else 0,
            },
        )
        granted[place.where] = (remaining, new_remaining)
    if granted:
        after: dict[str, Any] = {
            "remaining": min(new for _, new in granted.values()),
            "extra": extra,
            "period_start": str(period_bounds(plan.quota_period, today)[0]),
        }
        if len(places) > 1:
            after["regions"] = {label: new for label, (_, new) in granted.items()}
        audit(
            actor=actor,
            action="key.quota_extended",
            target=key,
            before={"remaining": min(old for old, _ in granted.values())},
            after=after,
            ip=ip,
        )
    if refused:
        if granted:
            refused += f" (granted in {', '.join(granted)})"
        raise ExtraQuotaRefused(refused)
    return min(new for _, new in granted.values())
