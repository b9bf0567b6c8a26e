"""Collect per-key usage from API Gateway into UsageDay rows, and send quota alerts.

Pages read UsageDay, never AWS. A tier is a usage plan in each account and region it covers,
each metering its own quota: each is read there, into rows of its own (one per key, day and
place). Collection is incremental: a run re-reads yesterday and today (the only days whose
figures can still change), plus the whole current quota period the first time a tier's period
is collected in a place, so `remaining` and the period totals are right at once.
"""

from __future__ import annotations

import datetime
import logging
from collections import defaultdict
from dataclasses import dataclass

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db import transaction
from django.db.models import DateField, F, OuterRef, Subquery, Sum, Value
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from keys.models import ApiKey, KeyCopy
from plans.models import Plan, PlanCopy, QuotaPeriod, active_subscription_through
from portal.aws import usage as aws_usage
from portal.aws.location import at
from portal.connections.locations import Locations
from portal.customers.models import Membership, MembershipRole
from portal.errors import PermanentSyncError, TransientSyncError
from portal.sync import object_lock
from portal.usage.models import QuotaAlert, UsageDay
from portal.usage.periods import ONE_DAY, period_bounds, resets_at
from portal.wording import percent_reached, share_in_words

logger = logging.getLogger(__name__)

MAX_RANGE_DAYS = 90  # GetUsage answers at most 90 days at once
ALERT_THRESHOLDS = (80, 100)


@dataclass
class CollectionResult:
    tiers: int = 0
    keys: int = 0  # key copies with usage, one per key and place
    rows: int = 0
    calls: int = 0
    places: int = 0  # usage plans read: one per tier and account and region it covers
    failed: int = 0  # usage plans AWS did not answer for (the next run reads them again)


def _window_start(copy: PlanCopy, today: datetime.date, backfill_days: int) -> datetime.date:
    plan = copy.plan
    if backfill_days:
        start = today - datetime.timedelta(days=backfill_days - 1)
    else:
        start = today - ONE_DAY
        if plan.quota_period:
            period_start, _ = period_bounds(plan.quota_period, today)
            # Per place: a region the tier newly covers needs its period read in full too.
            if not UsageDay.objects.filter(
                plan=plan,
                connection_id=copy.connection_id,
                region=copy.region,
                date__gte=period_start,
            ).exists():
                start = min(start, period_start)
    return max(start, today - datetime.timedelta(days=MAX_RANGE_DAYS - 1))


def _keys_of(copy: PlanCopy, aws_key_ids: list[str]) -> dict[str, int]:
    """AWS key id -> ApiKey pk, through the key copies of the usage plan's own place; a key
    synced before copies existed is known by `ApiKey.aws_id` alone."""
    found = dict(
        KeyCopy.objects.filter(
            connection_id=copy.connection_id, region=copy.region, aws_id__in=aws_key_ids
        ).values_list("aws_id", "key_id")
    )
    missing = [aws_id for aws_id in aws_key_ids if aws_id not in found]
    if missing:
        found.update(
            ApiKey.objects.filter(aws_id__in=missing, copies__isnull=True).values_list(
                "aws_id", "pk"
            )
        )
    return found


def collect_usage(
    *, today: datetime.date | None = None, backfill_days: int = 0
) -> CollectionResult:
    """GetUsage of every live tier's usage plan in every account and region it covers (each in
    its own place), into one UsageDay per key, day and place."""
    today = today or timezone.now().date()
    result = CollectionResult()
    copies = list(
        PlanCopy.objects.filter(plan__in=Plan.objects.live())
        .exclude(aws_id="")
        .select_related("plan")
        .order_by("plan_id", "connection_id", "region")
    )
    places = Locations(copy.connection_id for copy in copies)
    tiers: set[int] = set()
    for copy in copies:
        location = places.at(copy.connection_id, copy.region)
        start = _window_start(copy, today, backfill_days)
        try:
            with at(location):
                usage, calls = aws_usage.usage_of_plan(copy.aws_id, start, today)
        except (TransientSyncError, PermanentSyncError) as exc:
            # One region down must not keep the others' figures from the pages.
            logger.warning("usage of tier %s in %s not read: %s", copy.plan_id, location.label, exc)
            result.failed += 1
            continue
        tiers.add(copy.plan_id)
        result.places += 1
        result.calls += calls
        rows, managed = _usage_rows(copy, usage, start, today)
        result.keys += managed
        _store(copy, rows, start)
        result.rows += len(rows)
        note_last_use({row.key_id for row in rows if row.used > 0})
    result.tiers = len(tiers)
    return result


def _usage_rows(
    copy: PlanCopy,
    usage: dict[str, list[tuple[int, int]]],
    start: datetime.date,
    today: datetime.date,
) -> tuple[list[UsageDay], int]:
    """The rows to store, and how many of the usage plan's keys are Tollgate's."""
    plan = copy.plan
    key_ids = _keys_of(copy, list(usage))
    # A key that moved here from another tier this period keeps the days it spent there:
    # this tier reports zeros for them, which must not overwrite the other tier's rows.
    elsewhere = set(
        UsageDay.objects.filter(
            key_id__in=key_ids.values(),
            date__gte=start,
            connection_id=copy.connection_id,
            region=copy.region,
        )
        .exclude(plan=plan)
        .values_list("key_id", "date")
    )
    now = timezone.now()
    rows: list[UsageDay] = []
    for aws_key_id, days in usage.items():
        key_pk = key_ids.get(aws_key_id)
        if key_pk is None:
            continue  # a key Tollgate does not manage
        for offset, (used, remaining) in enumerate(days):
            day = start + datetime.timedelta(days=offset)
            if used == 0 and (day != today or (key_pk, day) in elsewhere):
                continue  # quiet days cost no row; today's row carries `remaining`
            rows.append(
                UsageDay(
                    key_id=key_pk,
                    plan=plan,
                    connection_id=copy.connection_id,
                    region=copy.region,
                    date=day,
                    used=used,
                    remaining=remaining,
                    collected_at=now,
                )
            )
    return rows, len(key_ids)


def _store(copy: PlanCopy, rows: list[UsageDay], start: datetime.date) -> None:
    """Replace the place's rows of the same keys and days by `rows`, in one transaction.

    Not an upsert (INSERT ... ON CONFLICT): the settings' default account is a null
    connection, and SQLite's unique indexes never find two nulls equal, so a conflict there
    would go unseen and the day would be stored twice.
    """
    fresh = {(row.key_id, row.date) for row in rows}
    with transaction.atomic():
        stale = [
            pk
            for pk, key_id, day in UsageDay.objects.filter(
                key_id__in={key_id for key_id, _ in fresh},
                date__gte=start,
                connection_id=copy.connection_id,
                region=copy.region,
            ).values_list("pk", "key_id", "date")
            if (key_id, day) in fresh
        ]
        for first in range(0, len(stale), 5000):
            UsageDay.objects.filter(pk__in=stale[first : first + 5000]).delete()
        UsageDay.objects.bulk_create(rows, batch_size=5000)


def note_last_use(key_ids: set[int]) -> int:
    """Record on each key the last day its collected usage shows traffic (`last_used_on`, the
    key pages' "last used" and keys.idle's rule): one UPDATE per 500 keys, never one per key."""
    last_day = (
        UsageDay.objects.filter(key=OuterRef("pk"), used__gt=0).order_by("-date").values("date")[:1]
    )
    ids = sorted(key_ids)
    updated = 0
    for start in range(0, len(ids), 500):
        updated += ApiKey.objects.filter(pk__in=ids[start : start + 500]).update(
            last_used_on=Subquery(last_day)
        )
    return updated


# --- quota alerts -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Crossing:
    key_id: int
    period: str  # DAY / WEEK / MONTH
    period_start: datetime.date
    used: int
    quota: int
    thresholds: tuple[int, ...]  # crossed and not yet recorded, lowest first


def _crossings(today: datetime.date) -> list[_Crossing]:
    """Keys whose use this period, on their customer's current tier, passed a threshold.

    One aggregate query per quota period (at most three), whatever the number of customers.
    """
    lowest = min(ALERT_THRESHOLDS)
    found: list[tuple[int, str, datetime.date, int, int]] = []
    for period in QuotaPeriod.values:
        period_start, _ = period_bounds(period, today)
        found += [
            (key_id, period, start, total, quota)
            for key_id, start, total, quota in UsageDay.objects.filter(
                # One filter() call: the subscription that is active is the one on this plan.
                active_subscription_through("key__customer__subscriptions"),
                key__customer__subscriptions__plan=F("plan"),
                plan__quota_period=period,
                plan__quota_limit__isnull=False,
                date__gte=period_start,
            )
            .values("key", "plan__quota_limit")
            .annotate(total=Sum("used"))
            # A superset (integer division); the exact test is below.
            .filter(total__gte=F("plan__quota_limit") * lowest / 100)
            .values_list(
                "key", Value(period_start, output_field=DateField()), "total", "plan__quota_limit"
            )
        ]
    recorded = set(
        QuotaAlert.objects.filter(
            key_id__in={key for key, *_ in found},
            period_start__in={start for _, _, start, *_ in found},
        ).values_list("key_id", "period_start", "threshold")
    )
    crossings = []
    for key_id, period, period_start, used, quota in found:
        new = tuple(
            t
            for t in ALERT_THRESHOLDS
            if percent_reached(used, quota) >= t and (key_id, period_start, t) not in recorded
        )
        if new:
            crossings.append(_Crossing(key_id, period, period_start, used, quota, new))
    return crossings


def send_quota_alerts(*, today: datetime.date | None = None) -> int:
    """Email each customer's owners when a key crosses 80% and 100% of its quota, once a period.

    The email states the figures this run found ("850 of 1,000 requests (85%)", the moment
    Tollgate saw the crossing) and links to the usage page (TOLLGATE["SITE_URL"]). A key found
    past both at once gets one email, the 100% one (the 80% alert is recorded with it, so it
    never arrives late). Query count does not grow with customers or alerts: the crossings,
    the alerts already sent, the keys and the owners are each read in one query, the new
    alerts written in one INSERT. One run at a time (a shared lock), so none is sent twice.
    """
    now = timezone.now()
    today = today or now.date()
    with object_lock("quota-alerts", ttl_seconds=600) as acquired:
        if not acquired:
            return 0
        crossings = _crossings(today)
        if not crossings:
            return 0
        keys = ApiKey.objects.select_related("customer").in_bulk([c.key_id for c in crossings])
        owners: dict[int, list[str]] = defaultdict(list)
        for customer_id, email in Membership.objects.filter(
            customer_id__in={key.customer_id for key in keys.values()},
            role=MembershipRole.OWNER,
        ).values_list("customer_id", "user__email"):
            owners[customer_id].append(email)
        alerts = [
            QuotaAlert(
                key_id=c.key_id,
                period_start=c.period_start,
                threshold=threshold,
                used=c.used,
                quota=c.quota,
            )
            for c in crossings
            for threshold in c.thresholds
        ]
        site = str(settings.TOLLGATE.get("SITE_URL") or "").rstrip("/")
        usage_url = f"{site}{reverse('app:usage')}" if site else ""
        emails = [
            EmailMessage(
                subject=f"Tollgate: key “{key.name}” has used {threshold}% of its quota",
                body=render_to_string(
                    "usage/quota_alert.txt",
                    {
                        "key": key,
                        "customer": key.customer,
                        "alert": {
                            "threshold": threshold,
                            "figures": share_in_words(c.used, c.quota),
                            "seen_at": now,
                            "resets_at": resets_at(c.period, c.period_start),
                        },
                        "usage_url": usage_url,
                    },
                ),
                from_email=settings.DEFAULT_FROM_EMAIL,
                to=owners[key.customer_id],
            )
            for c in crossings
            if owners[(key := keys[c.key_id]).customer_id]
            for threshold in c.thresholds[-1:]  # the highest one crossed
        ]
        with transaction.atomic():
            QuotaAlert.objects.bulk_create(alerts, batch_size=1000)
            transaction.on_commit(lambda: get_connection().send_messages(emails))
        return len(crossings)
