"""The usage roll-ups (PeriodUsage, CustomerMonthUsage) the collector keeps: the ops page's quota
watch and top customers and the quota alerts read them, and must answer what the scans of
UsageDay they replaced answered (kept below), through random collection runs with a tier switch
mid-period, a revoked key, a tier without quota and changes of a tier's quota and period."""

from __future__ import annotations

import datetime
import importlib
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.apps import apps as django_apps
from django.db import connection
from django.db.models import Count, F, FloatField, Q, Sum
from django.db.models.functions import Cast
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from keys.models import ApiKey, KeyCopy
from keys.services import key_create
from plans.models import ApiStage, Plan, PlanCopy, QuotaPeriod, active_subscription_through
from plans.services import plan_create, plan_update, subscription_switch
from portal.customers.models import Customer
from portal.customers.services import customer_onboard
from portal.usage import alerts, rollups, services
from portal.usage.models import CustomerMonthUsage, PeriodUsage, UsageDay
from portal.usage.periods import period_bounds
from portal.usage.watch import count_quota_watch, quota_watch, top_customers
from tests.conftest import FREE, make_user

REGIONS = ("us-east-1", "eu-west-1")
FIRST, LAST = datetime.date(2026, 10, 26), datetime.date(2026, 11, 28)  # LAST: a Saturday


# --- the scans the roll-ups replaced (portal/usage/metrics.py and services.py before) ----------


def scan_quota_watch(today: datetime.date) -> list[dict[str, Any]]:
    """The old query, with the roll-up's order among equal shares (larger use, then the key)."""
    week_start = period_bounds("WEEK", today)[0]
    in_period = (
        Q(plan__quota_period="DAY", date=today)
        | Q(plan__quota_period="WEEK", date__gte=week_start, date__lte=today)
        | Q(plan__quota_period="MONTH", date__gte=today.replace(day=1), date__lte=today)
    )
    found = (
        UsageDay.objects.filter(in_period, plan__quota_limit__isnull=False)
        .filter(key__revoked_at__isnull=True)
        .values(
            "key_id",
            "key__name",
            "key__customer_id",
            "key__customer__name",
            "plan__name",
            "plan__quota_limit",
            "plan__quota_period",
        )
        .annotate(period_used=Sum("used"), used_x5=Sum("used") * 5)
        .filter(used_x5__gte=F("plan__quota_limit") * 4)
        .annotate(share=Cast("period_used", FloatField()) / Cast("plan__quota_limit", FloatField()))
        .order_by("-share", "-period_used", "key_id")
    )
    rows: list[dict[str, Any]] = []
    for found_row in found:
        row: dict[str, Any] = dict(found_row)
        row["used"] = row.pop("period_used")
        del row["used_x5"]
        row["percent"] = round(100.0 * row["used"] / row["plan__quota_limit"], 1)
        row["over"] = row["used"] >= row["plan__quota_limit"]
        rows.append(row)
    return rows


def scan_top_customers(today: datetime.date) -> list[dict[str, Any]]:
    rows = (
        UsageDay.objects.filter(date__gte=today.replace(day=1), date__lte=today)
        .values("key__customer_id", "key__customer__name")
        .annotate(total=Sum("used"), keys=Count("key_id", distinct=True))
        .filter(total__gt=0)
        .order_by("-total", "key__customer__name")
    )
    return [dict(row) for row in rows]


def scan_crossings(today: datetime.date) -> set[tuple[int, str, datetime.date, int, int]]:
    found = set()
    for period in QuotaPeriod.values:
        period_start, _ = period_bounds(period, today)
        for key_id, total, quota in (
            UsageDay.objects.filter(
                active_subscription_through("key__customer__subscriptions"),
                key__customer__subscriptions__plan=F("plan"),
                plan__quota_period=period,
                plan__quota_limit__isnull=False,
                date__gte=period_start,
            )
            .values("key", "plan__quota_limit")
            .annotate(total=Sum("used"))
            .filter(total__gte=F("plan__quota_limit") * 80 / 100)
            .values_list("key", "total", "plan__quota_limit")
        ):
            assert quota is not None
            if total * 100 >= quota * 80:
                found.add((key_id, period, period_start, total, quota))
    return found


def assert_roll_ups_answer_as_the_scans(today: datetime.date) -> None:
    assert quota_watch(today, limit=10_000) == scan_quota_watch(today)
    assert quota_watch(today, limit=3) == scan_quota_watch(today)[:3]
    scanned = scan_quota_watch(today)
    counts = count_quota_watch(today)
    assert (counts.over, counts.total) == (sum(row["over"] for row in scanned), len(scanned))
    assert top_customers(today, limit=10_000) == scan_top_customers(today)
    assert top_customers(today, limit=2) == scan_top_customers(today)[:2]
    crossings = {
        (c.key_id, c.period, c.period_start, c.used, c.quota) for c in alerts._crossings(today)
    }
    assert crossings == scan_crossings(today)


# --- a fake GetUsage over the collector's real path ---------------------------------------------


@dataclass
class FakeGateway:
    """What API Gateway metered: requests per (usage plan id, key id, day)."""

    used: dict[tuple[str, str, datetime.date], int] = field(default_factory=dict)
    quotas: dict[str, tuple[int | None, str]] = field(default_factory=dict)
    calls: int = 0

    def usage_of_plan(
        self, plan_id: str, start: datetime.date, end: datetime.date
    ) -> tuple[dict[str, list[tuple[int, int]]], int]:
        self.calls += 1
        quota, period = self.quotas[plan_id]
        keys = {key for plan, key, _ in self.used if plan == plan_id}
        out: dict[str, list[tuple[int, int]]] = {}
        for key in keys:
            days, day, spent = [], start, 0
            while day <= end:
                used = self.used.get((plan_id, key, day), 0)
                if quota is not None and (day == start or period_bounds(period, day)[0] == day):
                    first = period_bounds(period, day)[0]
                    spent = sum(
                        n
                        for (p, k, d), n in self.used.items()
                        if p == plan_id and k == key and first <= d < day
                    )
                spent += used
                days.append((used, max((quota or 0) - spent, 0)))
                day += datetime.timedelta(days=1)
            out[key] = days
        return out, 1


@pytest.fixture
def gateway(monkeypatch: pytest.MonkeyPatch) -> FakeGateway:
    fake = FakeGateway()
    monkeypatch.setattr(services.aws_usage, "usage_of_plan", fake.usage_of_plan)
    return fake


def in_two_regions(plan: Plan, gateway: FakeGateway) -> Plan:
    """The tier as synced: a usage plan in each region (PlanCopy rows, as the sync makes)."""
    PlanCopy.objects.filter(plan=plan).delete()
    for region in REGIONS:
        aws_id = f"up-{plan.slug}-{region}"
        PlanCopy.objects.create(plan=plan, region=region, aws_id=aws_id, synced_version=1)
        gateway.quotas[aws_id] = (plan.quota_limit, plan.quota_period)
    return plan


def synced(key: ApiKey) -> ApiKey:
    for region in REGIONS:
        KeyCopy.objects.create(key=key, region=region, aws_id=f"k{key.pk}-{region}")
    return key


@dataclass
class World:
    tiers: dict[str, Plan]
    customers: list[Customer]
    keys: dict[int, ApiKey]
    tier_of: dict[int, Plan]  # customer id -> tier


@pytest.fixture
def world(db: None, stage: ApiStage, gateway: FakeGateway) -> World:
    specs = [
        {**FREE},
        {
            **FREE,
            "name": "Weekly",
            "is_default": False,
            "quota_limit": 3000,
            "quota_period": "WEEK",
        },
        {**FREE, "name": "Monthly", "is_default": False, "quota_limit": 9000},
        {**FREE, "name": "Open", "is_default": False, "quota_limit": None, "quota_period": ""},
    ]
    specs[2]["quota_period"] = "MONTH"
    tiers = {
        spec["name"]: in_two_regions(plan_create(actor=None, data=spec, stages=[stage]), gateway)
        for spec in specs
    }
    rng = random.Random(17)
    customers, keys, tier_of = [], {}, {}
    for n in range(10):
        owner = make_user(f"owner{n}@c{n}.test")
        customer = customer_onboard(owner=owner, organisation_name=f"Customer {n:02d}")
        tier = list(tiers.values())[n % 4]
        if not tier.is_default:
            subscription_switch(actor=None, customer=customer, plan=tier, by_staff=True)
        customers.append(customer)
        tier_of[customer.pk] = tier
        for k in range(rng.randint(1, 3)):
            key = synced(key_create(actor=owner, customer=customer, name=f"key {k}"))
            keys[key.pk] = key
    return World(tiers, customers, keys, tier_of)


def daily_use(plan: Plan, rng: random.Random) -> int:
    """Around the quota's pace: some keys stay quiet, some run past 80% and 100%."""
    per_day = {"DAY": 1000, "WEEK": 430, "MONTH": 300, "": 500}[plan.quota_period]
    return rng.choice([0, 0, per_day // 10, per_day // 2, per_day * 9 // 10, per_day, per_day * 2])


def meter(world: World, gateway: FakeGateway, day: datetime.date, rng: random.Random) -> None:
    for key in world.keys.values():
        tier = world.tier_of[key.customer_id]
        for region in REGIONS:
            share = rng.random()
            total = daily_use(tier, rng)
            # The day's figure grows between two runs: part of it first, all of it later.
            cell = (f"up-{tier.slug}-{region}", f"k{key.pk}-{region}", day)
            gateway.used[cell] = max(gateway.used.get(cell, 0), int(total * share))


def run_days(
    world: World,
    gateway: FakeGateway,
    days: list[datetime.date],
    rng: random.Random,
    on_day: Callable[[datetime.date], None] | None = None,
) -> None:
    for day in days:
        if on_day is not None:
            on_day(day)
        for _ in range(2):
            meter(world, gateway, day, rng)
            result = services.collect_usage(today=day)
            assert result.failed == 0 and not result.busy
            assert_roll_ups_answer_as_the_scans(day)


def every_day(first: datetime.date, last: datetime.date) -> list[datetime.date]:
    return [first + datetime.timedelta(days=n) for n in range((last - first).days + 1)]


def test_random_collections_give_the_scans_answers(world: World, gateway: FakeGateway) -> None:
    rng = random.Random(5)
    moved = world.customers[2]  # on Monthly, moves to Weekly mid-period
    revoked = next(k for k in world.keys.values() if k.customer_id == world.customers[1].pk)

    def events(day: datetime.date) -> None:
        if day == datetime.date(2026, 11, 12):
            subscription_switch(
                actor=None, customer=moved, plan=world.tiers["Weekly"], by_staff=True
            )
            world.tier_of[moved.pk] = world.tiers["Weekly"]
        if day == datetime.date(2026, 11, 20):
            ApiKey.objects.filter(pk=revoked.pk).update(revoked_at=timezone.now())

    run_days(world, gateway, every_day(FIRST, LAST), rng, events)
    assert PeriodUsage.objects.filter(plan=world.tiers["Open"]).count() == 0  # no quota
    assert CustomerMonthUsage.objects.filter(month=LAST.replace(day=1)).exists()
    assert quota_watch(LAST), "the data must put some keys past 80%"

    # Summed afresh (a repair, and the migration that made the roll-ups): the same rows, less
    # the periods without a request (which the collector has no reason to write).
    kept = roll_up_rows()
    rollups.rebuild_usage_totals()
    assert roll_up_rows() == kept
    PeriodUsage.objects.all().delete()
    CustomerMonthUsage.objects.all().delete()
    migration = importlib.import_module("portal.usage.migrations.0003_usage_rollups")
    migration.fill_from_usage_days(django_apps, None)
    assert roll_up_rows() == kept


def roll_up_rows() -> tuple[set[tuple[Any, ...]], set[tuple[Any, ...]]]:
    periods = PeriodUsage.objects.filter(used__gt=0).values_list(
        "key", "plan", "period", "period_start", "used", "quota", "share"
    )
    months = CustomerMonthUsage.objects.filter(used__gt=0).values_list("customer", "month", "used")
    return set(periods), set(months)


def test_a_quota_change_of_a_tier_is_followed_at_the_next_collection(
    world: World, gateway: FakeGateway, stage: ApiStage
) -> None:
    rng = random.Random(9)
    run_days(world, gateway, every_day(datetime.date(2026, 11, 20), LAST), rng)
    monthly, weekly, open_tier = world.tiers["Monthly"], world.tiers["Weekly"], world.tiers["Open"]

    plan_update(actor=None, plan=monthly, data={"quota_limit": 4000}, stages=[stage])
    # Until the roll-up follows, the tier's old rows are left out rather than shown wrongly.
    assert all(row["plan__name"] != "Monthly" for row in quota_watch(LAST, limit=10_000))
    plan_update(
        actor=None, plan=weekly, data={"quota_limit": 500, "quota_period": "DAY"}, stages=[stage]
    )
    plan_update(
        actor=None,
        plan=open_tier,
        data={"quota_limit": 2000, "quota_period": "WEEK"},
        stages=[stage],
    )
    for tier in (monthly, weekly, open_tier):
        tier.refresh_from_db()
        in_two_regions(tier, gateway)
    assert sorted(rollups.refresh_stale_totals(LAST)) == sorted(
        [monthly.pk, weekly.pk, open_tier.pk]
    )
    assert_roll_ups_answer_as_the_scans(LAST)
    assert rollups.refresh_stale_totals(LAST) == []  # nothing left to rebuild
    # And a tier that loses its quota leaves the watch.
    plan_update(
        actor=None, plan=monthly, data={"quota_limit": None, "quota_period": ""}, stages=[stage]
    )
    services.collect_usage(today=LAST)
    assert_roll_ups_answer_as_the_scans(LAST)
    assert not PeriodUsage.objects.current(LAST).filter(plan=monthly).exists()


def test_the_readers_take_one_query_each_per_period(world: World, gateway: FakeGateway) -> None:
    run_days(world, gateway, [LAST], random.Random(3))
    with CaptureQueriesContext(connection) as queries:
        quota_watch(LAST)
    assert len(queries) == 3  # one per quota period, each reading its top rows by an index
    with CaptureQueriesContext(connection) as queries:
        top_customers(LAST)
    assert len(queries) == 1
    with CaptureQueriesContext(connection) as queries:
        alerts._crossings(LAST)
    assert len(queries) == 1


def test_a_busy_collection_does_nothing(world: World, gateway: FakeGateway) -> None:
    from portal.sync import object_lock

    with object_lock("usage-collection") as held:
        assert held
        result = services.collect_usage(today=LAST)
    assert result.busy and result.calls == 0 and gateway.calls == 0
    assert not UsageDay.objects.exists()
