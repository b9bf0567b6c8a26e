"""Collect per-key usage from API Gateway into UsageDay rows (quota alerts: portal.usage.alerts).

Pages read UsageDay, never AWS. A tier is a usage plan in each account and region it covers,
each metering its own quota: each is read there, into rows of its own (one per key, day and
place). Collection is incremental: a run re-reads yesterday and today (the only days whose
figures can still change), plus the whole current quota period the first time a tier's period
is collected in a place, so `remaining` and the period totals are right at once. A run writes
only what changed (new days inserted, changed ones updated, the same ones left alone) and adds
the change to the roll-ups the ops page and the quota alerts read (PeriodUsage: a key's use per
quota period of its tier; CustomerMonthUsage: a customer's per month), in the same transaction.
"""

from __future__ import annotations

import datetime
import logging
from collections import Counter
from dataclasses import dataclass, field
from typing import NamedTuple

from django.db import transaction
from django.db.models import OuterRef, Subquery
from django.utils import timezone

from keys.models import ApiKey, KeyCopy
from plans.models import Plan, PlanCopy
from portal.aws import usage as aws_usage
from portal.aws.location import at
from portal.connections.locations import Locations
from portal.errors import PermanentSyncError, TransientSyncError
from portal.sync import object_lock
from portal.usage.models import (
    UsageDay,
)
from portal.usage.periods import ONE_DAY, period_bounds
from portal.usage.rollups import (
    ROLL_UP_LOCK,
    ROLL_UP_LOCK_SECONDS,
    refresh_stale_totals,
    roll_up,
)

logger = logging.getLogger(__name__)

MAX_RANGE_DAYS = 90  # GetUsage answers at most 90 days at once


@dataclass
class CollectionResult:
    tiers: int = 0
    keys: int = 0  # key copies with usage, one per key and place
    rows: int = 0
    calls: int = 0
    places: int = 0  # usage plans read: one per tier and account and region it covers
    failed: int = 0  # usage plans AWS did not answer for (the next run reads them again)
    inserted: int = 0  # UsageDay rows written new
    updated: int = 0  # UsageDay rows whose figures changed (the others are left as they are)
    busy: bool = False  # another run held the lock: this one did nothing


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
    its own place), into one UsageDay per key, day and place, and the roll-ups kept with them
    (PeriodUsage, CustomerMonthUsage). One run at a time (a shared lock): the roll-ups are
    updated by what each run changed, so two runs must not count the same change twice."""
    today = today or timezone.now().date()
    result = CollectionResult()
    with object_lock(ROLL_UP_LOCK, ttl_seconds=ROLL_UP_LOCK_SECONDS) as acquired:
        if not acquired:
            logger.info("usage collection already running; this run does nothing")
            result.busy = True
            return result
        refresh_stale_totals(today)
        _collect(result, today, backfill_days)
    return result


def _collect(result: CollectionResult, today: datetime.date, backfill_days: int) -> None:
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
        written = _store(copy, rows, start)
        result.rows += len(rows)
        result.inserted += written.inserted
        result.updated += written.updated
        note_last_use(written.used_keys)
    result.tiers = len(tiers)


class _Figure(NamedTuple):
    """One key's day as GetUsage reported it (a UsageDay is made only if it must be written)."""

    key_id: int
    date: datetime.date
    used: int
    remaining: int


def _usage_rows(
    copy: PlanCopy,
    usage: dict[str, list[tuple[int, int]]],
    start: datetime.date,
    today: datetime.date,
) -> tuple[list[_Figure], int]:
    """The days GetUsage reported for Tollgate's keys, and how many of the usage plan's keys
    are Tollgate's."""
    key_ids = _keys_of(copy, list(usage))
    figures: list[_Figure] = []
    for aws_key_id, days in usage.items():
        key_pk = key_ids.get(aws_key_id)
        if key_pk is None:
            continue  # a key Tollgate does not manage
        for offset, (used, remaining) in enumerate(days):
            day = start + datetime.timedelta(days=offset)
            if used == 0 and day != today:
                continue  # quiet days cost no row; today's row carries `remaining`
            figures.append(_Figure(key_pk, day, used, remaining))
    return figures, len(key_ids)


@dataclass
class _Written:
    inserted: int = 0
    updated: int = 0
    used_keys: set[int] = field(default_factory=set)  # keys with new or changed traffic


def _store(copy: PlanCopy, figures: list[_Figure], start: datetime.date) -> _Written:
    """Store the place's figures in UsageDay: insert the new days, update the changed ones,
    leave the identical ones alone; and add what changed to the roll-ups, in one transaction.

    The figures are compared with what is stored, not upserted on (key, date, connection,
    region): the settings' default account is a null connection, and SQLite's unique indexes
    never find two nulls equal, so such a conflict would go unseen and the day would be stored
    twice. A changed row is written by its primary key (never null), so that upsert is safe.
    """
    written = _Written()
    plan, now = copy.plan, timezone.now()
    stored = {
        (key_id, day): (pk, plan_id, used, remaining)
        for pk, key_id, day, plan_id, used, remaining in UsageDay.objects.filter(
            key_id__in={figure.key_id for figure in figures},
            date__gte=start,
            connection_id=copy.connection_id,
            region=copy.region,
        ).values_list("pk", "key_id", "date", "plan_id", "used", "remaining")
    }
    deltas: Counter[tuple[int, int, datetime.date]] = Counter()  # (key, tier, day): requests
    changed: list[UsageDay] = []
    for key_id, day, used, remaining in figures:
        old = stored.get((key_id, day))
        pk = None
        if old is not None:
            pk, old_plan_id, old_used, old_remaining = old
            if (old_plan_id, old_used, old_remaining) == (plan.pk, used, remaining):
                continue
            if used == 0 and old_plan_id != plan.pk:
                # A key that moved here from another tier this period keeps the days it spent
                # there: this tier reports zeros for them, which must not overwrite those rows.
                continue
            deltas[(key_id, old_plan_id, day)] -= old_used
            written.updated += 1
        else:
            written.inserted += 1
        deltas[(key_id, plan.pk, day)] += used
        if used > 0:
            written.used_keys.add(key_id)
        changed.append(
            UsageDay(
                pk=pk,
                key_id=key_id,
                plan=plan,
                connection_id=copy.connection_id,
                region=copy.region,
                date=day,
                used=used,
                remaining=remaining,
                collected_at=now,
            )
        )
    if not changed:
        return written
    with transaction.atomic():
        UsageDay.objects.bulk_create(
            changed,
            batch_size=5000,
            update_conflicts=True,
            unique_fields=["id"],
            update_fields=["plan", "used", "remaining", "collected_at"],
        )
        roll_up(deltas, {copy.plan_id: copy.plan})
    return written


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
