"""collect_usage writes only what changed: a run that finds the stored figures again writes no
row, a run where a few changed writes those (UsageDay and roll-ups), and its number of queries
does not grow with the number of keys."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from keys.models import ApiKey
from plans.models import ApiStage, Plan
from portal.customers.models import Customer
from portal.usage import services
from portal.usage.models import CustomerMonthUsage, PeriodUsage, UsageDay
from tests.usage.test_usage_rollup import (
    REGIONS,
    FakeGateway,
    assert_roll_ups_answer_as_the_scans,
    in_two_regions,
)

TODAY = datetime.date(2026, 11, 28)
YESTERDAY = TODAY - datetime.timedelta(days=1)


@pytest.fixture
def gateway(monkeypatch: pytest.MonkeyPatch) -> FakeGateway:
    fake = FakeGateway()
    monkeypatch.setattr(services.aws_usage, "usage_of_plan", fake.usage_of_plan)
    return fake


def keys_on(plan: Plan, gateway: FakeGateway, count: int, prefix: str) -> list[ApiKey]:
    """`count` customers with a key each in both regions of `plan`, used yesterday and today."""
    from keys.models import KeyCopy

    customers = Customer.objects.bulk_create(
        [Customer(name=f"{prefix} {n:03d}", slug=f"{prefix.lower()}-{n:03d}") for n in range(count)]
    )
    keys = ApiKey.objects.bulk_create(
        [ApiKey(customer=c, name="main", aws_id=f"{prefix}{n}") for n, c in enumerate(customers)]
    )
    KeyCopy.objects.bulk_create(
        [KeyCopy(key=k, region=r, aws_id=f"k{k.pk}-{r}") for k in keys for r in REGIONS]
    )
    for n, key in enumerate(keys):
        for region in REGIONS:
            for day in (YESTERDAY, TODAY):
                gateway.used[(f"up-{plan.slug}-{region}", f"k{key.pk}-{region}", day)] = 10 + n
    return keys


def collected(today: datetime.date = TODAY) -> tuple[services.CollectionResult, list[str]]:
    with CaptureQueriesContext(connection) as queries:
        result = services.collect_usage(today=today)
    return result, [q["sql"] for q in queries]


def writes(sql: list[str]) -> list[str]:
    return [s for s in sql if s.split()[0].upper() in ("INSERT", "UPDATE", "DELETE")]


def test_nothing_changed_writes_nothing_and_a_change_writes_only_itself(
    tiers: dict[str, Plan], stage: ApiStage, gateway: FakeGateway
) -> None:
    premium = in_two_regions(tiers["Premium"], gateway)
    keys = keys_on(premium, gateway, 20, "Busy")
    first, _ = collected()
    assert (first.inserted, first.updated) == (80, 0)  # 20 keys x 2 regions x 2 days
    assert_roll_ups_answer_as_the_scans(TODAY)
    stamps = dict(UsageDay.objects.values_list("pk", "collected_at"))
    rollups = sorted(PeriodUsage.objects.values_list("pk", "used"))

    again, sql = collected()
    assert (again.inserted, again.updated, again.rows) == (0, 0, 80)
    assert writes(sql) == []
    assert dict(UsageDay.objects.values_list("pk", "collected_at")) == stamps  # untouched
    assert sorted(PeriodUsage.objects.values_list("pk", "used")) == rollups

    changed = keys[3]
    gateway.used[(f"up-{premium.slug}-{REGIONS[1]}", f"k{changed.pk}-{REGIONS[1]}", TODAY)] += 500
    one, sql = collected()
    assert (one.inserted, one.updated) == (0, 1)
    # The day's row, the key's period row, its customer's month row, and its last use.
    assert len(writes(sql)) == 4, writes(sql)
    row = UsageDay.objects.get(key=changed, date=TODAY, region=REGIONS[1])
    assert row.used == 10 + 3 + 500
    assert PeriodUsage.objects.get(key=changed).used == 4 * 13 + 500
    month = CustomerMonthUsage.objects.get(customer_id=changed.customer_id)
    assert month.used == 4 * 13 + 500
    assert_roll_ups_answer_as_the_scans(TODAY)


@pytest.mark.parametrize("count", [5, 60])
def test_queries_per_usage_plan_do_not_grow_with_keys(
    tiers: dict[str, Plan], stage: ApiStage, gateway: FakeGateway, count: int, request: Any
) -> None:
    premium = in_two_regions(tiers["Premium"], gateway)
    keys = keys_on(premium, gateway, count, "Many")
    _, sql = collected()  # every row new
    request.node.first = len(sql)
    for key in keys:  # every key's today changes
        for region in REGIONS:
            gateway.used[(f"up-{premium.slug}-{region}", f"k{key.pk}-{region}", TODAY)] += 1
    result, changed_sql = collected()
    assert result.updated == 2 * count
    _, quiet_sql = collected()
    # Per run: the stale-tier check, the usage plans, their accounts; then per usage plan (2
    # here) the window check, the key copies and the stored rows of the window.
    assert len(quiet_sql) == 3 + 2 * 3, quiet_sql
    # And where something changed, per usage plan: one write per table (and batch of 5,000),
    # the period and month rows read, the keys' customers, their last use, a savepoint.
    assert len(changed_sql) == len(sql) == 3 + 2 * 12, (len(changed_sql), len(sql))
