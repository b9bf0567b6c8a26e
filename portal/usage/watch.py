"""The ops page's per-key figures, from the usage roll-ups the collector keeps (never AWS): the
top customers this month, the keys nearest their quota, and how many are past 80% in all."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from django.core.cache import cache
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce

from keys.models import ApiKey
from plans.models import QuotaPeriod
from portal.usage.models import CustomerMonthUsage, PeriodUsage, UsageDay
from portal.usage.periods import period_bounds

TOP_CUSTOMERS = 10
QUOTA_ROWS = 50  # listed on the ops page; quota_watch_counts counts them all


def top_customers(today: datetime.date, limit: int = TOP_CUSTOMERS) -> list[dict[str, Any]]:
    """The customers whose keys made the most requests this UTC month (one query): the month's
    largest CustomerMonthUsage rows (kept by the collector), and for those few the keys with
    usage collected this month."""
    month_start = today.replace(day=1)
    keys = (
        ApiKey.objects.filter(
            Exists(
                UsageDay.objects.filter(key=OuterRef("pk"), date__gte=month_start, date__lte=today)
            ),
            customer=OuterRef("customer"),
        )
        .values("customer")
        .annotate(n=Count("pk"))
        .values("n")
    )
    rows = (
        CustomerMonthUsage.objects.filter(month=month_start, used__gt=0)
        .order_by("-used", "customer__name")
        .values(key__customer_id=F("customer_id"), key__customer__name=F("customer__name"))
        .annotate(total=F("used"), keys=Coalesce(Subquery(keys), 0))[:limit]
    )
    return [dict(row) for row in rows]


def _in_current_period(period: str, today: datetime.date) -> Q:
    start, _ = period_bounds(period, today)
    # Only rows in the tier's own period and quota (rollups.refresh_stale_totals).
    return Q(period=period, period_start=start, plan__quota_period=period)


def _watched(periods: Q) -> QuerySet[PeriodUsage]:
    """The roll-up rows at 80% or more of their quota in the current `periods`."""
    return PeriodUsage.objects.filter(
        periods, share__gte=0.8, quota=F("plan__quota_limit"), key__revoked_at__isnull=True
    )


def quota_watch(today: datetime.date, limit: int = QUOTA_ROWS) -> list[dict[str, Any]]:
    """Keys at 80% or more of their tier's quota in the current quota period, the largest share
    first (ties: the larger use, then the older key), from the roll-up the collector keeps.

    One query per quota period (day, week, month), each reading only its top `limit` rows in
    the order of an index; a single query for the three periods at once can only be sorted
    after reading every row at 80% or more (thousands at 50,000 keys), so they are merged here.
    API Gateway applies a usage plan's quota to each key separately. Rows carry `percent`.
    """
    rows: list[dict[str, Any]] = []
    for period in QuotaPeriod.values:
        rows += map(
            dict,
            _watched(_in_current_period(period, today))
            .order_by("-share", "-used", "key_id")
            .values(
                "key_id",
                "key__name",
                "key__customer_id",
                "key__customer__name",
                "plan__name",
                "plan__quota_limit",
                "plan__quota_period",
                "used",
                "share",
            )[:limit],
        )
    rows.sort(key=lambda row: (-row["share"], -row["used"], row["key_id"]))
    del rows[limit:]
    for row in rows:
        row["percent"] = round(100.0 * row["used"] / row["plan__quota_limit"], 1)
        row["over"] = row["used"] >= row["plan__quota_limit"]
    return rows


@dataclass(frozen=True)
class WatchCounts:
    """How many keys `quota_watch` would list without its limit: the page shows the first
    rows and says how many there are in all."""

    over: int  # at or above 100% of the quota
    near: int  # 80% to 100%

    @property
    def total(self) -> int:
        return self.over + self.near


WATCH_COUNTS_SECONDS = 600  # two collections (beat runs one every 5 minutes)


def quota_watch_counts(today: datetime.date) -> WatchCounts:
    """`count_quota_watch` as the last usage collection left it (the collection counts after
    writing the roll-ups: the page never pays for it); counted here only when the cache lost it.
    A key revoked since is still counted until the next collection."""
    found: WatchCounts | None = cache.get(_watch_counts_key(today))
    return found if found is not None else refresh_quota_watch_counts(today)


def refresh_quota_watch_counts(today: datetime.date) -> WatchCounts:
    counts = count_quota_watch(today)
    cache.set(_watch_counts_key(today), counts, WATCH_COUNTS_SECONDS)
    return counts


def _watch_counts_key(today: datetime.date) -> str:
    return f"quota-watch-counts:{today.isoformat()}"


def count_quota_watch(today: datetime.date) -> WatchCounts:
    """One query, each period's rows at 80% or more a range of the (period, start, -share)
    index; but it reads every such row (8,000 of 50,000 keys on the seed: 46 ms)."""
    periods = Q()
    for period in QuotaPeriod.values:
        periods |= _in_current_period(period, today)
    counts = _watched(periods).aggregate(
        over=Count("pk", filter=Q(used__gte=F("quota"))), every=Count("pk")
    )
    return WatchCounts(over=counts["over"], near=counts["every"] - counts["over"])
