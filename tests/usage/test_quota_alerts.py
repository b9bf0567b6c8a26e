"""send_quota_alerts (portal/usage/services.py): once per key, period and threshold, in a
number of queries that does not grow with customers."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from keys.models import ApiKey
from keys.services import key_create
from plans.models import Plan
from portal.accounts.models import User
from portal.customers.services import customer_onboard
from portal.usage.models import QuotaAlert, UsageDay
from portal.usage.services import send_quota_alerts
from tests.conftest import make_user

TODAY = datetime.date(2026, 11, 27)


def customer_using(n: int, free: Plan, used: int) -> ApiKey:
    """Customer n on the Free tier (1,000 requests a day) whose one key used `used` today."""
    owner: User = make_user(f"owner{n}@c{n}.test")
    customer = customer_onboard(owner=owner, organisation_name=f"Customer {n}")
    key = key_create(actor=owner, customer=customer, name="production")
    UsageDay.objects.create(key=key, plan=free, date=TODAY, used=used, remaining=1000 - used)
    return key


def test_it_sends_the_80_percent_email_once(
    tiers: dict[str, Plan], mailoutbox: list[Any], django_capture_on_commit_callbacks: Any
) -> None:
    key = customer_using(1, tiers["Free"], used=850)
    with django_capture_on_commit_callbacks(execute=True):
        assert send_quota_alerts(today=TODAY) == 1
    assert [m.subject for m in mailoutbox] == [
        "Tollgate: key “production” has used 80% of its quota"
    ]
    assert "850 of its 1000 requests this period (80%)" in mailoutbox[0].body
    with django_capture_on_commit_callbacks(execute=True):
        assert send_quota_alerts(today=TODAY) == 0
    assert len(mailoutbox) == 1
    assert list(QuotaAlert.objects.values_list("key", "threshold")) == [(key.pk, 80)]


def test_a_key_past_both_thresholds_at_once_gets_only_the_100_percent_email(
    tiers: dict[str, Plan], mailoutbox: list[Any], django_capture_on_commit_callbacks: Any
) -> None:
    customer_using(1, tiers["Free"], used=1000)
    with django_capture_on_commit_callbacks(execute=True):
        assert send_quota_alerts(today=TODAY) == 1
    assert [m.subject for m in mailoutbox] == [
        "Tollgate: key “production” has used 100% of its quota"
    ]
    assert sorted(QuotaAlert.objects.values_list("threshold", flat=True)) == [80, 100]
    with django_capture_on_commit_callbacks(execute=True):
        assert send_quota_alerts(today=TODAY) == 0  # the 80% one never arrives late
    assert len(mailoutbox) == 1


def test_usage_of_yesterday_or_under_80_percent_sends_nothing(
    tiers: dict[str, Plan], mailoutbox: list[Any], django_capture_on_commit_callbacks: Any
) -> None:
    customer_using(1, tiers["Free"], used=799)
    key = customer_using(2, tiers["Free"], used=0)
    UsageDay.objects.filter(key=key).update(date=TODAY - datetime.timedelta(days=1), used=1000)
    with django_capture_on_commit_callbacks(execute=True):
        assert send_quota_alerts(today=TODAY) == 0
    assert mailoutbox == []


@pytest.mark.parametrize("customers", [2, 20])
def test_its_query_count_does_not_grow_with_customers(
    tiers: dict[str, Plan], customers: int, django_capture_on_commit_callbacks: Any
) -> None:
    for n in range(customers):
        customer_using(n, tiers["Free"], used=900)
    with (
        CaptureQueriesContext(connection) as queries,
        django_capture_on_commit_callbacks(execute=True),
    ):
        assert send_quota_alerts(today=TODAY) == customers
    # 3 crossings (one per quota period) + recorded alerts + keys + owners + the INSERT, and the
    # transaction's savepoint statements on some databases.
    assert len(queries) <= 10, [q["sql"] for q in queries]
