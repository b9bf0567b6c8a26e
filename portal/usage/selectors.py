"""What a customer's keys used: per key this quota period, a forecast, and the last 30 days.

Read from UsageDay rows only (never AWS), in a constant number of queries (three) whatever the
number of keys, days — and customers. The usage pages read one customer's rows of the chart's
days (`customer_usage`); the REST summary reads a page of customers at once, summed per key and
place by the database (`usage_totals`): no chart and no forecast, the same figures.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db.models import Exists, F, Max, OuterRef, Q, Sum
from django.utils import timezone

from keys.models import ApiKey
from plans.models import Plan, Subscription
from portal.customers.models import Customer
from portal.usage.figures import (
    CustomerTotals,
    CustomerUsage,
    Figures,
    KeyTotals,
    KeyUsage,
    Window,
    label,
    sums,
    window,
)
from portal.usage.forecast import Forecast, forecast
from portal.usage.models import UsageDay
from portal.usage.regions import Place, where_of

SERIES_DAYS = 30  # the daily chart and table (and the forecast's window: portal.usage.forecast)
# What the usage pages and the summary show of a key: the summary reads a page of customers'
# hundreds of keys, and their other fields (sync state, expiry, rotation bookkeeping) are only
# time spent loading.
KEY_FIELDS = (
    "customer_id",
    "public_id",
    "name",
    "display_prefix",
    "enabled",
    "revoked_at",
    "rotated_from_id",
)


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


@dataclass
class _Read:
    """What both readings share: the customers' tiers, quota periods and keys (two queries)."""

    today: datetime.date
    plans: dict[int, Plan]
    windows: dict[int, Window]
    since: dict[int, datetime.date]  # per customer: the first day either reading needs
    keys: dict[int, list[ApiKey]]

    def key_ids(self) -> list[int]:
        return [key.pk for keys in self.keys.values() for key in keys]


def _read(
    customers: Sequence[Customer], today: datetime.date | None, now: datetime.datetime | None
) -> _Read:
    today = today or (now or timezone.now()).astimezone(datetime.UTC).date()
    ids = [customer.pk for customer in customers]
    plans: dict[int, Plan] = {
        subscription.customer_id: subscription.plan
        for subscription in Subscription.objects.active()
        .select_related("plan")
        .filter(customer_id__in=ids)
    }  # query 1
    series_start = today - datetime.timedelta(days=SERIES_DAYS - 1)
    windows = {pk: window(plans.get(pk), today) for pk in ids}
    since = {pk: min(series_start, window[0]) for pk, window in windows.items()}
    # Revoked keys count only when used lately (the chart's window or the period) - for the
    # summary too, so that both fold the same key lineages.
    used_since = UsageDay.objects.filter(
        key=OuterRef("pk"), date__gte=min(since.values()), used__gt=0
    )
    keys: dict[int, list[ApiKey]] = {pk: [] for pk in ids}
    for key in (
        ApiKey.objects.filter(customer_id__in=ids)
        .filter(Q(revoked_at__isnull=True) | Exists(used_since))
        .only(*KEY_FIELDS)
        .order_by(F("revoked_at").asc(nulls_first=True), "-created_at", "-pk")
    ):  # query 2
        keys[key.customer_id].append(key)
    return _Read(today, plans, windows, since, keys)


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
    """`customer_usage` of each customer, in the same three queries however many there are."""
    if not customers:
        return []
    read = _read(customers, today, now)
    key_ids = read.key_ids()
    customer_of = {key.pk: customer_id for customer_id, keys in read.keys.items() for key in keys}
    # Per customer and key: requests per day (summed over places) and per place this period,
    # and what API Gateway reported left today in each place.
    daily: dict[int, dict[int, dict[datetime.date, int]]] = defaultdict(lambda: defaultdict(dict))
    place_used: dict[int, dict[int, dict[Place, int]]] = defaultdict(lambda: defaultdict(dict))
    left_today: dict[int, dict[int, dict[Place, int]]] = defaultdict(lambda: defaultdict(dict))
    wheres: dict[Place, str] = {}
    for key_id, plan_id, day, used, remaining, connection_id, region, name, is_default in (
        UsageDay.objects.filter(
            key_id__in=key_ids, date__gte=min(read.since.values()), date__lte=read.today
        )
        .values_list(
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
    ):  # query 3 (the unique index's (key, date) prefix)
        customer_id = customer_of[key_id]
        if day < read.since[customer_id]:
            continue
        by_day = daily[customer_id][key_id]
        by_day[day] = by_day.get(day, 0) + used
        if day >= read.windows[customer_id][0]:
            place = (connection_id, region)
            used_there = place_used[customer_id][key_id]
            used_there[place] = used_there.get(place, 0) + used
            if place not in wheres:
                wheres[place] = where_of(region, name, is_default)
            plan = read.plans.get(customer_id)
            if day == read.today and plan is not None and plan_id == plan.pk:
                left_today[customer_id][key_id][place] = remaining

    return [
        _customer_usage(
            customer,
            read,
            daily[customer.pk],
            place_used[customer.pk],
            left_today[customer.pk],
            wheres,
        )
        for customer in customers
    ]


def usage_totals(
    customers: Sequence[Customer],
    today: datetime.date | None = None,
    *,
    now: datetime.datetime | None = None,
) -> list[CustomerTotals]:
    """Each customer's figures this quota period (as `customer_usage` has them, without the
    chart and forecasts), in three queries however many customers: the database sums each
    key's days per tier and place, so a page of customers reads a few rows per key."""
    if not customers:
        return []
    read = _read(customers, today, now)
    # Each key's rows of its own customer's period only (a DAY tier's: today's).
    by_start: dict[datetime.date, list[int]] = defaultdict(list)
    for customer_id, keys in read.keys.items():
        by_start[read.windows[customer_id][0]].extend(key.pk for key in keys)
    in_period = Q()
    for start, key_ids in by_start.items():
        in_period |= Q(key_id__in=key_ids, date__gte=start)
    customer_of = {key.pk: customer_id for customer_id, keys in read.keys.items() for key in keys}
    place_used: dict[int, dict[int, dict[Place, int]]] = defaultdict(lambda: defaultdict(dict))
    left_today: dict[int, dict[int, dict[Place, int]]] = defaultdict(lambda: defaultdict(dict))
    wheres: dict[Place, str] = {}
    rows = (
        UsageDay.objects.filter(in_period, date__lte=read.today)
        .values_list(
            "key_id",
            "plan_id",
            "connection_id",
            "region",
            "connection__name",
            "connection__is_default",
        )
        .annotate(used_sum=Sum("used"), left=Max("remaining", filter=Q(date=read.today)))
        .order_by()
    )
    for key_id, plan_id, connection_id, region, name, is_default, used, left in rows:  # query 3
        customer_id = customer_of[key_id]
        place = (connection_id, region)
        used_there = place_used[customer_id][key_id]
        used_there[place] = used_there.get(place, 0) + int(used)
        if place not in wheres:
            wheres[place] = where_of(region, name, is_default)
        plan = read.plans.get(customer_id)
        if left is not None and plan is not None and plan_id == plan.pk:
            left_today[customer_id][key_id][place] = left

    totals: list[CustomerTotals] = []
    for customer in customers:
        plan = read.plans.get(customer.pk)
        window = read.windows[customer.pk]
        used_by_key = place_used[customer.pk]
        keys = _by_lineage(read.keys[customer.pk], used_by_key)
        figures = Figures(plan, window)
        everything = [
            KeyTotals(
                key=key,
                **figures.of(used_by_key.get(key.pk, {}), left_today[customer.pk][key.pk], wheres),
            )
            for key in keys
        ]
        shown = [k for k in everything if not k.key.is_revoked or k.used > 0]
        total_used, total_remaining = sums(plan, shown)
        totals.append(
            CustomerTotals(
                customer=customer,
                plan=plan,
                today=read.today,
                period_start=window[0],
                period_end=window[1],
                resets_at=window[2],
                keys=shown,
                total_used=total_used,
                total_remaining=total_remaining,
            )
        )
    return totals


def _customer_usage(
    customer: Customer,
    read: _Read,
    daily: dict[int, dict[datetime.date, int]],
    place_used: dict[int, dict[Place, int]],
    left_today: dict[int, dict[Place, int]],
    wheres: dict[Place, str],
) -> CustomerUsage:
    """One customer's figures from rows already read: no query."""
    plan = read.plans.get(customer.pk)
    window = read.windows[customer.pk]
    period_start, period_end, _ = window
    today = read.today
    series_start = today - datetime.timedelta(days=SERIES_DAYS - 1)
    keys = _by_lineage(read.keys[customer.pk], daily, place_used)
    days = [series_start + datetime.timedelta(days=i) for i in range(SERIES_DAYS)]
    figures = Figures(plan, window)

    everything: list[KeyUsage] = []
    for key in keys:
        by_day = daily.get(key.pk, {})
        numbers = figures.of(place_used.get(key.pk, {}), left_today.get(key.pk, {}), wheres)
        outlook: Forecast | None = None
        if numbers["remaining"] is not None and figures.period_quota is not None:
            outlook = forecast(
                daily=by_day,
                today=today,
                period=plan.quota_period if plan else "",
                quota=figures.period_quota,
                remaining=numbers["remaining"],
                period_end=period_end,
            )
        everything.append(
            KeyUsage(
                key=key,
                **numbers,
                forecast=outlook,
                has_data=bool(by_day),
                daily=[by_day.get(day, 0) for day in days],
            )
        )

    shown = [k for k in everything if not k.key.is_revoked or k.used > 0]
    total_used, total_remaining = sums(plan, shown)
    return CustomerUsage(
        customer=customer,
        plan=plan,
        today=today,
        period_start=period_start,
        period_end=period_end,
        resets_at=window[2],
        keys=shown,
        days=days,
        series=[k for k in everything if not k.key.is_revoked or any(k.daily) or k.used > 0],
        total_used=total_used,
        total_remaining=total_remaining,
    )


def usage_rows_for_csv(
    customer: Customer, start: datetime.date, end: datetime.date
) -> list[tuple[datetime.date, str, int, int | None, str]]:
    """(date, key, requests, remaining, region) for every recorded day of the customer's own
    keys, one row per account and region the key was metered in.

    `remaining` is None for a day on a tier without quota (API Gateway reports 0 there).
    """
    wheres: dict[tuple[str, str | None, bool | None], str] = {}
    found = []
    for day, name, revoked_at, used, remaining, quota, region, place_name, is_default in (
        UsageDay.objects.filter(key__customer=customer, date__gte=start, date__lte=end)
        .values_list(
            "date",
            "key__name",
            "key__revoked_at",
            "used",
            "remaining",
            "plan__quota_limit",
            "region",
            "connection__name",
            "connection__is_default",
        )
        .order_by("date", "key__name", "key_id", "connection_id", "region")
    ):
        place = (region, place_name, is_default)
        where = wheres.get(place)
        if where is None:
            where = wheres[place] = where_of(region, place_name, is_default)
        found.append(
            (
                day,
                label(name, revoked_at is not None),
                used,
                remaining if quota is not None else None,
                where,
            )
        )
    return found
