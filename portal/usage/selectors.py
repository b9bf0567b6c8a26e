"""What a customer's keys used: per key this quota period, a forecast, and the last 30 days.

Read from UsageDay rows only (never AWS), in a constant number of queries (three) whatever the
number of keys, days — and customers: `usage_summaries` reads a page of customers at once.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone

from keys.models import ApiKey
from plans.models import Plan, Subscription
from portal.customers.models import Customer
from portal.usage.forecast import Forecast, forecast
from portal.usage.models import UsageDay
from portal.usage.periods import ONE_DAY, period_bounds, resets_at
from portal.usage.regions import Place, RegionUsage, Row, regions_of, where_of

SERIES_DAYS = 30  # the daily chart and table (and the forecast's window: portal.usage.forecast)
WARN_PERCENT = 80


@dataclass
class KeyUsage:
    key: ApiKey
    used: int  # this period, on any tier, summed over every account and region
    quota: int | None  # the current tier's, per key in each account and region
    remaining: int | None  # the smallest of its regions' (`remaining_where` names it)
    percent: float | None
    forecast: Forecast | None  # from whole days only (portal.usage.forecast); None: no quota
    has_data: bool  # any UsageDay row in the period or the chart's window
    daily: list[int] = field(default_factory=list)  # one figure per day of the series
    places: list[RegionUsage] = field(default_factory=list)  # one per region it was used in

    @property
    def regions(self) -> list[RegionUsage]:
        """The per-region breakdown, only for a key metered in more than one region."""
        return self.places if len(self.places) > 1 else []

    @property
    def remaining_where(self) -> str:
        """The region with the least left, when there are several."""
        if not self.regions or self.remaining is None:
            return ""
        return min(self.regions, key=lambda r: r.remaining or 0).where

    @property
    def exhausted(self) -> bool:
        return self.remaining is not None and self.remaining <= 0

    @property
    def level(self) -> str:
        """ok / warn (>= 80%) / over (>= 100%): the progress bar's colour."""
        if self.percent is None:
            return "none"
        if self.percent >= 100 or self.exhausted:
            return "over"
        return "warn" if self.percent >= WARN_PERCENT else "ok"

    @property
    def extended(self) -> bool:
        """API Gateway reports more left than quota - used: extra quota was granted (UpdateUsage)."""
        if self.regions:
            return any(region.extended for region in self.regions)
        if self.remaining is None or self.quota is None:
            return False
        return self.remaining > max(0, self.quota - self.used)

    @property
    def bar_width(self) -> float:
        return min(self.percent or 0.0, 100.0)


@dataclass
class CustomerUsage:
    customer: Customer
    plan: Plan | None
    today: datetime.date
    period_start: datetime.date
    period_end: datetime.date
    resets_at: datetime.datetime | None  # None when the tier has no quota
    keys: list[KeyUsage]  # live keys, plus revoked ones used this period
    days: list[datetime.date]  # the series' days, oldest first
    series: list[KeyUsage]  # every key with a line in the chart (adds revoked ones used lately)
    total_used: int
    total_remaining: int | None

    @property
    def has_quota(self) -> bool:
        return self.plan is not None and self.plan.quota_limit is not None

    @property
    def daily_totals(self) -> list[int]:
        return [sum(values) for values in zip(*(k.daily for k in self.series), strict=True)] or [
            0
        ] * len(self.days)

    @property
    def table_rows(self) -> list[tuple[datetime.date, list[int], int]]:
        """(day, per-key figures, total), newest first: the chart's numbers as a table."""
        rows = [
            (day, [k.daily[i] for k in self.series], total)
            for i, (day, total) in enumerate(zip(self.days, self.daily_totals, strict=True))
        ]
        return rows[::-1]

    @property
    def has_any_data(self) -> bool:
        return any(k.has_data for k in self.series)

    def chart_data(self) -> dict[str, Any]:
        """For Chart.js (embedded with json_script): a stacked bar per day, one dataset per key."""
        return {
            "labels": [f"{day.day} {day:%b}" for day in self.days],
            "titles": [f"{day:%a} {day.day} {day:%b %Y}" for day in self.days],
            "datasets": [
                {"label": _key_label(k.key), "data": k.daily} for k in self.series if any(k.daily)
            ],
        }


def _key_label(key: ApiKey) -> str:
    return f"{key.name} (revoked)" if key.is_revoked else key.name


def _by_lineage(keys: list[ApiKey], *figures: dict[int, dict[Any, int]]) -> list[ApiKey]:
    """One line per key lineage (keys.rotation): a rolled key's figures (per day, per place)
    are added to its successor's, so its line continues across the rotation. No query: the
    keys are read."""
    successor = {key.rotated_from_id: key.pk for key in keys if key.rotated_from_id}
    folded: set[int] = set()
    for key in keys:
        head = key.pk
        while head in successor:
            head = successor[head]
        if head != key.pk:
            folded.add(key.pk)
            for by_key in figures:
                into = by_key[head]
                for at, used in by_key.pop(key.pk, {}).items():
                    into[at] = into.get(at, 0) + used
    return [key for key in keys if key.pk not in folded]


def customer_usage(
    customer: Customer,
    today: datetime.date | None = None,
    *,
    now: datetime.datetime | None = None,
) -> CustomerUsage:
    return usage_summaries([customer], today, now=now)[0]


def usage_summaries(
    customers: Sequence[Customer],
    today: datetime.date | None = None,
    *,
    now: datetime.datetime | None = None,
) -> list[CustomerUsage]:
    """`customer_usage` of each customer, in the same three queries however many there are (the
    usage page asks for one; the REST API's usage summary for a page of them)."""
    now = now or timezone.now()
    today = today or now.astimezone(datetime.UTC).date()
    if today != now.astimezone(datetime.UTC).date():
        # Asked about another day: take it as over (past) so that day counts in full.
        now = datetime.datetime.combine(today + ONE_DAY, datetime.time(), tzinfo=datetime.UTC)
    if not customers:
        return []
    ids = [customer.pk for customer in customers]

    plans: dict[int, Plan] = {
        subscription.customer_id: subscription.plan
        for subscription in Subscription.objects.active()
        .select_related("plan")
        .filter(customer_id__in=ids)
    }  # query 1
    series_start = today - datetime.timedelta(days=SERIES_DAYS - 1)
    windows = {pk: _window(plans.get(pk), today) for pk in ids}
    since = {pk: min(series_start, window[0]) for pk, window in windows.items()}
    earliest = min(since.values())

    used_since = UsageDay.objects.filter(key=OuterRef("pk"), date__gte=earliest, used__gt=0)
    keys: dict[int, list[ApiKey]] = defaultdict(list)
    for key in (
        ApiKey.objects.filter(customer_id__in=ids)
        .filter(Q(revoked_at__isnull=True) | Exists(used_since))
        .order_by(F("revoked_at").asc(nulls_first=True), "-created_at", "-pk")
    ):  # query 2
        keys[key.customer_id].append(key)
    rows: dict[int, list[Row]] = defaultdict(list)
    for customer_id, key_id, plan_id, day, used, remaining, connection_id, region, *connection in (
        UsageDay.objects.filter(key__customer_id__in=ids, date__gte=earliest, date__lte=today)
        .values_list(
            "key__customer_id",
            "key_id",
            "plan_id",
            "date",
            "used",
            "remaining",
            "connection_id",
            "region",
            "connection__name",
            "connection__is_default",
        )
        .order_by()
    ):  # query 3
        if day >= since[customer_id]:
            where = where_of(region, str(connection[0] or ""), bool(connection[1]))
            rows[customer_id].append(
                Row(key_id, plan_id, day, used, remaining, (connection_id, region), where)
            )

    return [
        _customer_usage(
            customer,
            plans.get(customer.pk),
            keys[customer.pk],
            rows[customer.pk],
            today=today,
            now=now,
            window=windows[customer.pk],
        )
        for customer in customers
    ]


def _window(
    plan: Plan | None, today: datetime.date
) -> tuple[datetime.date, datetime.date, datetime.datetime | None]:
    """The current quota period (start, end) and when it resets; a tier without a quota: the
    calendar month, and no reset."""
    if plan is not None and plan.quota_limit is not None and plan.quota_period:
        period_start, period_end = period_bounds(plan.quota_period, today)
        return period_start, period_end, resets_at(plan.quota_period, today)
    period_start, period_end = period_bounds("MONTH", today)
    return period_start, period_end, None


def _customer_usage(
    customer: Customer,
    plan: Plan | None,
    keys: list[ApiKey],
    rows: list[Row],
    *,
    today: datetime.date,
    now: datetime.datetime,
    window: tuple[datetime.date, datetime.date, datetime.datetime | None],
) -> CustomerUsage:
    """One customer's figures from rows already read: no query."""
    quota = plan.quota_limit if plan else None
    period_start, period_end, reset = window
    series_start = today - datetime.timedelta(days=SERIES_DAYS - 1)

    daily: dict[int, dict[datetime.date, int]] = defaultdict(dict)
    # Per key and place: what it used this period, and API Gateway's remaining there today.
    place_used: dict[int, dict[Place, int]] = defaultdict(dict)
    today_remaining: dict[int, dict[Place, int]] = defaultdict(dict)
    wheres: dict[Place, str] = {}
    for row in rows:
        by_day = daily[row.key_id]
        by_day[row.day] = by_day.get(row.day, 0) + row.used  # summed over places
        if period_start <= row.day <= today:
            used_there = place_used[row.key_id]
            used_there[row.place] = used_there.get(row.place, 0) + row.used
            wheres[row.place] = row.where
        if row.day == today and plan is not None and row.plan_id == plan.pk:
            today_remaining[row.key_id][row.place] = row.remaining

    keys = _by_lineage(keys, daily, place_used)
    days = [series_start + datetime.timedelta(days=i) for i in range(SERIES_DAYS)]
    effective_quota = _effective_quota(plan, period_start)
    has_quota = quota is not None and effective_quota is not None and reset is not None

    everything: list[KeyUsage] = []
    for key in keys:
        by_day = daily.get(key.pk, {})
        used = sum(n for day, n in by_day.items() if period_start <= day <= today)
        places = regions_of(
            place_used.get(key.pk, {}),
            today_remaining[key.pk],
            wheres,
            quota=quota,
            period_quota=effective_quota if has_quota else None,
        )
        remaining: int | None = None
        percent: float | None = None
        outlook: Forecast | None = None
        if has_quota and quota is not None and effective_quota is not None:
            # Each region has a quota of its own: the key runs out first where least is left.
            remaining = min(
                (r.remaining for r in places if r.remaining is not None),
                default=max(0, effective_quota - used),
            )
            percent = used * 100 / quota
            outlook = forecast(
                daily=by_day,
                today=today,
                period=plan.quota_period if plan else "",
                quota=effective_quota,
                remaining=remaining,
                period_end=period_end,
            )
        everything.append(
            KeyUsage(
                key=key,
                used=used,
                quota=quota,
                remaining=remaining,
                percent=percent,
                forecast=outlook,
                has_data=bool(by_day),
                daily=[by_day.get(day, 0) for day in days],
                places=places,
            )
        )

    shown = [k for k in everything if not k.key.is_revoked or k.used > 0]
    return CustomerUsage(
        customer=customer,
        plan=plan,
        today=today,
        period_start=period_start,
        period_end=period_end,
        resets_at=reset,
        keys=shown,
        days=days,
        series=[k for k in everything if not k.key.is_revoked or any(k.daily) or k.used > 0],
        total_used=sum(k.used for k in shown),
        total_remaining=(
            sum(k.remaining or 0 for k in shown if not k.key.is_revoked)
            if quota is not None
            else None
        ),
    )


def _effective_quota(plan: Plan | None, period_start: datetime.date) -> int | None:
    """The quota of this period: the first period of a tier loses its offset (QuotaSettings)."""
    if plan is None or plan.quota_limit is None or not plan.quota_period:
        return None
    created = plan.created_at.astimezone(datetime.UTC).date()
    if plan.quota_offset and period_bounds(plan.quota_period, created)[0] == period_start:
        return max(0, plan.quota_limit - plan.quota_offset)
    return plan.quota_limit


def usage_rows_for_csv(
    customer: Customer, start: datetime.date, end: datetime.date
) -> list[tuple[datetime.date, str, int, int | None, str]]:
    """(date, key, requests, remaining, region) for every recorded day of the customer's own
    keys, one row per account and region the key was metered in.

    `remaining` is None for a day on a tier without quota (API Gateway reports 0 there).
    """
    rows = (
        UsageDay.objects.filter(key__customer=customer, date__gte=start, date__lte=end)
        .select_related("key", "plan", "connection")
        .only(
            "date",
            "used",
            "remaining",
            "region",
            "key__name",
            "key__revoked_at",
            "plan__quota_limit",
            "connection__name",
            "connection__is_default",
        )
        .order_by("date", "key__name", "key_id", "connection_id", "region")
    )
    return [
        (
            row.date,
            _key_label(row.key),
            row.used,
            row.remaining if row.plan.quota_limit is not None else None,
            where_of(
                row.region,
                row.connection.name if row.connection else None,
                row.connection.is_default if row.connection else None,
            ),
        )
        for row in rows
    ]
