"""The usage roll-ups the ops page and the quota alerts read, kept by the collector
(portal.usage.services) in the transaction that stores the rows they sum: PeriodUsage (a key's
use in one quota period of its tier, summed over places, with its share of the quota) and
CustomerMonthUsage (a customer's use in a UTC month). Rebuilt from UsageDay for rows written
around the collector (bulk loads, tests, a repair) and for a tier whose quota changed.
"""

from __future__ import annotations

import datetime
from collections import Counter

from django.db import transaction
from django.db.models import Exists, OuterRef, Subquery, Sum

from keys.models import ApiKey
from plans.models import Plan, QuotaPeriod
from portal.usage.models import (
    CustomerMonthUsage,
    PeriodUsage,
    UsageDay,
    current_periods,
)
from portal.usage.periods import period_bounds

# Held by whatever writes the roll-ups from UsageDay (a collection, a rebuild after a quota
# change): each adds what it changed, so two at once could count one change twice.
ROLL_UP_LOCK = "usage-collection"
ROLL_UP_LOCK_SECONDS = 900


def roll_up(deltas: Counter[tuple[int, int, datetime.date]], known: dict[int, Plan]) -> None:
    """Add the requests UsageDay rows gained (or lost) to their tier's period rows and their
    customer's month rows: one read and one write per table, whatever the number of keys."""
    deltas = Counter({k: n for k, n in deltas.items() if n})
    if not deltas:
        return
    plan_ids = {plan_id for _, plan_id, _ in deltas}
    plans = {**known, **Plan.objects.in_bulk(plan_ids - set(known))}
    customer_of = dict(
        ApiKey.objects.filter(pk__in={key_id for key_id, _, _ in deltas}).values_list(
            "pk", "customer_id"
        )
    )
    periods: Counter[tuple[int, int, str, datetime.date]] = Counter()
    months: Counter[tuple[int, datetime.date]] = Counter()
    for (key_id, plan_id, day), n in deltas.items():
        months[(customer_of[key_id], day.replace(day=1))] += n
        plan = plans[plan_id]
        if plan.quota_limit is not None and plan.quota_period:
            start, _ = period_bounds(plan.quota_period, day)
            periods[(key_id, plan_id, plan.quota_period, start)] += n
    _add_periods(periods, plans)
    _add_months(months)


def _add_periods(
    periods: Counter[tuple[int, int, str, datetime.date]], plans: dict[int, Plan]
) -> None:
    if not periods:
        return
    found = {
        (row.key_id, row.plan_id, row.period, row.period_start): row
        for row in PeriodUsage.objects.filter(
            key_id__in={key_id for key_id, *_ in periods},
            plan_id__in={plan_id for _, plan_id, *_ in periods},
            period_start__in={start for *_, start in periods},
        )
    }
    rows = []
    for (key_id, plan_id, period, start), n in periods.items():
        quota = plans[plan_id].quota_limit
        assert quota is not None
        row = found.get((key_id, plan_id, period, start)) or PeriodUsage(
            key_id=key_id, plan_id=plan_id, period=period, period_start=start, used=0
        )
        row.used = max(row.used + n, 0)
        row.quota = quota
        row.share = row.used / quota
        rows.append(row)
    PeriodUsage.objects.bulk_create(
        rows,
        batch_size=5000,
        update_conflicts=True,
        unique_fields=["id"],
        update_fields=["used", "quota", "share"],
    )


def _add_months(months: Counter[tuple[int, datetime.date]]) -> None:
    if not months:
        return
    found = {
        (row.customer_id, row.month): row
        for row in CustomerMonthUsage.objects.filter(
            customer_id__in={customer_id for customer_id, _ in months},
            month__in={month for _, month in months},
        )
    }
    rows = []
    for (customer_id, month), n in months.items():
        row = found.get((customer_id, month)) or CustomerMonthUsage(
            customer_id=customer_id, month=month, used=0
        )
        row.used = max(row.used + n, 0)
        rows.append(row)
    CustomerMonthUsage.objects.bulk_create(
        rows, batch_size=5000, update_conflicts=True, unique_fields=["id"], update_fields=["used"]
    )


def refresh_stale_totals(today: datetime.date) -> list[int]:
    """Rebuild the current quota period's rows of every tier whose rows are not in the period
    and quota the tier has now (its quota changed, or it gained one, since they were written).
    Until then the readers leave those rows out (PeriodUsage.objects.current). Returns the
    tiers rebuilt.

    One query, a few index probes per tier: a tier's current rows are written together (the
    collector's deltas and a rebuild both use the tier's settings of the moment), so one of
    them tells the settings of all.
    """
    one_row = PeriodUsage.objects.filter(current_periods(today), plan=OuterRef("pk"))
    starts = {period: period_bounds(period, today)[0] for period in QuotaPeriod.values}
    plans = Plan.objects.annotate(
        row_period=Subquery(one_row.values("period")[:1]),
        row_quota=Subquery(one_row.values("quota")[:1]),
        **{
            f"used_{period}": Exists(
                UsageDay.objects.filter(plan=OuterRef("pk"), date__gte=start, date__lte=today)
            )
            for period, start in starts.items()
        },
    )
    stale = []
    for plan in plans:
        quota = (plan.quota_period, plan.quota_limit) if plan.quota_limit is not None else None
        if plan.row_period is not None:
            if (plan.row_period, plan.row_quota) != quota:
                stale.append(plan)
        elif quota is not None and getattr(plan, f"used_{plan.quota_period}"):
            stale.append(plan)  # usage this period and no row: it has just gained a quota
    for plan in stale:
        rebuild_period_totals(plan, today)
    return sorted(plan.pk for plan in stale)


def rebuild_usage_totals() -> tuple[int, int]:
    """Every roll-up row summed afresh from UsageDay (for data written around the collector:
    bulk loads, tests, a repair). The migration that made the roll-ups fills them the same way.
    Returns the period and month rows written."""
    with transaction.atomic():
        PeriodUsage.objects.all().delete()
        CustomerMonthUsage.objects.all().delete()
        periods = 0
        for plan in Plan.objects.filter(quota_limit__isnull=False).exclude(quota_period=""):
            assert plan.quota_limit is not None
            totals: Counter[tuple[int, datetime.date]] = Counter()
            for key_id, day, used in (
                UsageDay.objects.filter(plan=plan)
                .values_list("key_id", "date", "used")
                .iterator(chunk_size=5000)
            ):
                totals[(key_id, period_bounds(plan.quota_period, day)[0])] += used
            periods += len(
                PeriodUsage.objects.bulk_create(
                    [
                        _period_row(key_id, plan, start, total)
                        for (key_id, start), total in totals.items()
                    ],
                    batch_size=5000,
                )
            )
        months: Counter[tuple[int, datetime.date]] = Counter()
        for customer_id, day, used in UsageDay.objects.values_list(
            "key__customer_id", "date", "used"
        ).iterator(chunk_size=5000):
            months[(customer_id, day.replace(day=1))] += used
        CustomerMonthUsage.objects.bulk_create(
            [CustomerMonthUsage(customer_id=c, month=m, used=n) for (c, m), n in months.items()],
            batch_size=5000,
        )
    return periods, len(months)


def _period_row(key_id: int, plan: Plan, start: datetime.date, total: int) -> PeriodUsage:
    """A key's row of one period of a tier with a quota, from its total."""
    assert plan.quota_limit is not None
    return PeriodUsage(
        key_id=key_id,
        plan=plan,
        period=plan.quota_period,
        period_start=start,
        used=total,
        quota=plan.quota_limit,
        share=total / plan.quota_limit,
    )


def rebuild_period_totals(plan: Plan, today: datetime.date) -> int:
    """The tier's rows of its current quota period, summed afresh from UsageDay."""
    with transaction.atomic():
        PeriodUsage.objects.filter(current_periods(today), plan=plan).delete()
        if plan.quota_limit is None or not plan.quota_period:
            return 0
        start, end = period_bounds(plan.quota_period, today)
        rows = [
            _period_row(key_id, plan, start, total)
            for key_id, total in UsageDay.objects.filter(plan=plan, date__gte=start, date__lte=end)
            .values("key_id")
            .annotate(total=Sum("used"))
            .values_list("key_id", "total")
        ]
        PeriodUsage.objects.bulk_create(rows, batch_size=5000)
    return len(rows)
