"""send_quota_alerts (portal/usage/alerts.py): once per key, period and threshold, in a
number of queries that does not grow with customers."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from keys.models import ApiKey
from keys.services import key_create
from plans.models import Plan
from plans.services import subscription_switch
from portal.accounts.models import User
from portal.customers.models import Customer
from portal.customers.services import customer_onboard
from portal.usage.alerts import send_quota_alerts
from portal.usage.models import QuotaAlert, UsageDay
from portal.usage.rollups import rebuild_usage_totals
from tests.conftest import make_user

TODAY = datetime.date(2026, 11, 27)


def customer_using(n: int, free: Plan, used: int) -> ApiKey:
    """Customer n on the Free tier (1,000 requests a day) whose one key used `used` today."""
    owner: User = make_user(f"owner{n}@c{n}.test")
    customer = customer_onboard(owner=owner, organisation_name=f"Customer {n}")
    key = key_create(actor=owner, customer=customer, name="production")
    UsageDay.objects.create(key=key, plan=free, date=TODAY, used=used, remaining=1000 - used)
    return key


def alert(today: datetime.date = TODAY) -> int:
    """The alerts of usage written here around the collector: its roll-up summed first."""
    rebuild_usage_totals()
    return send_quota_alerts(today=today)


@pytest.fixture(autouse=True)
def site_url(settings: Any) -> None:
    settings.TOLLGATE = {**settings.TOLLGATE, "SITE_URL": "https://tollgate.example.com"}


@pytest.fixture(autouse=True)
def collected_at(monkeypatch: pytest.MonkeyPatch) -> None:
    moment = datetime.datetime(2026, 11, 27, 14, 5, tzinfo=datetime.UTC)
    monkeypatch.setattr(timezone, "now", lambda: moment)


def test_it_sends_the_80_percent_email_once(
    tiers: dict[str, Plan], mailoutbox: list[Any], django_capture_on_commit_callbacks: Any
) -> None:
    key = customer_using(1, tiers["Free"], used=850)
    with django_capture_on_commit_callbacks(execute=True):
        assert alert() == 1
    assert [m.subject for m in mailoutbox] == [
        "Tollgate: key “production” has used 80% of its quota"
    ]
    body = mailoutbox[0].body
    assert (
        "has passed 80% of its quota this period: 850 of 1,000 requests (85%) when Tollgate "
        "collected its usage on Fri 27 Nov, 14:05 UTC." in body
    )
    assert "the quota resets on Sat 28 Nov, 00:00 UTC." in body
    assert (
        "See your usage, or move to a larger tier: https://tollgate.example.com/app/usage/" in body
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert alert() == 0
    assert len(mailoutbox) == 1
    assert list(QuotaAlert.objects.values_list("key", "threshold")) == [(key.pk, 80)]


def test_a_key_past_both_thresholds_at_once_gets_only_the_100_percent_email(
    tiers: dict[str, Plan], mailoutbox: list[Any], django_capture_on_commit_callbacks: Any
) -> None:
    customer_using(1, tiers["Free"], used=1000)
    with django_capture_on_commit_callbacks(execute=True):
        assert alert() == 1
    assert [m.subject for m in mailoutbox] == [
        "Tollgate: key “production” has used 100% of its quota"
    ]
    body = mailoutbox[0].body
    assert "has reached 100% of its quota this period: 1,000 of 1,000 requests (100%)" in body
    assert "(80%)" not in body
    assert sorted(QuotaAlert.objects.values_list("threshold", flat=True)) == [80, 100]
    with django_capture_on_commit_callbacks(execute=True):
        assert alert() == 0  # the 80% one never arrives late
    assert len(mailoutbox) == 1


def test_usage_of_yesterday_or_under_80_percent_sends_nothing(
    tiers: dict[str, Plan], mailoutbox: list[Any], django_capture_on_commit_callbacks: Any
) -> None:
    customer_using(1, tiers["Free"], used=799)
    key = customer_using(2, tiers["Free"], used=0)
    UsageDay.objects.filter(key=key).update(date=TODAY - datetime.timedelta(days=1), used=1000)
    with django_capture_on_commit_callbacks(execute=True):
        assert alert() == 0
    assert mailoutbox == []


@pytest.mark.parametrize("customers", [2, 20])
def test_its_query_count_does_not_grow_with_customers(
    tiers: dict[str, Plan], customers: int, django_capture_on_commit_callbacks: Any
) -> None:
    for n in range(customers):
        customer_using(n, tiers["Free"], used=900)
    rebuild_usage_totals()
    with (
        CaptureQueriesContext(connection) as queries,
        django_capture_on_commit_callbacks(execute=True),
    ):
        assert send_quota_alerts(today=TODAY) == customers
    # The crossings not yet alerted (one query on the roll-up) + keys + owners + the INSERT, and
    # the transaction's savepoint statements on some databases.
    assert len(queries) <= 8, [q["sql"] for q in queries]
    with CaptureQueriesContext(connection) as queries:
        assert send_quota_alerts(today=TODAY) == 0
    assert len(queries) == 1  # a run that sends nothing reads the roll-up once


def test_80_then_100_percent_in_later_runs_each_states_its_own_figures(
    tiers: dict[str, Plan], mailoutbox: list[Any], django_capture_on_commit_callbacks: Any
) -> None:
    """Two collection runs: 800 (the 80% email, "800 of 1,000 requests (80%)"), then 1,000
    (the 100% email). Each is sent once, with the figures its run saw."""
    key = customer_using(1, tiers["Free"], used=800)
    with django_capture_on_commit_callbacks(execute=True):
        assert alert() == 1
    UsageDay.objects.filter(key=key).update(used=1000, remaining=0)
    for _ in range(2):
        with django_capture_on_commit_callbacks(execute=True):
            alert()
    assert [m.subject for m in mailoutbox] == [
        "Tollgate: key “production” has used 80% of its quota",
        "Tollgate: key “production” has used 100% of its quota",
    ]
    assert "800 of 1,000 requests (80%)" in mailoutbox[0].body
    assert "1,000 of 1,000 requests (100%)" in mailoutbox[1].body
    assert sorted(QuotaAlert.objects.values_list("threshold", "used")) == [(80, 800), (100, 1000)]


def test_a_monthly_tier_writes_its_figures_in_full(
    tiers: dict[str, Plan],
    acme: Customer,
    alice: User,
    mailoutbox: list[Any],
    django_capture_on_commit_callbacks: Any,
) -> None:
    """Premium: 100,000 a month; 95,500 used over two November days → the 80% email only."""
    subscription_switch(actor=None, customer=acme, plan=tiers["Premium"], by_staff=True)
    key = key_create(actor=alice, customer=acme, name="batch & co")
    for day, used in ((datetime.date(2026, 11, 2), 60_000), (TODAY, 35_500)):
        UsageDay.objects.create(key=key, plan=tiers["Premium"], date=day, used=used, remaining=0)
    with django_capture_on_commit_callbacks(execute=True):
        assert alert() == 1
    (email,) = mailoutbox
    assert email.to == [alice.email]
    assert "The API key “batch & co” of Acme" in email.body  # plain text: nothing escaped
    assert "95,500 of 100,000 requests (95%)" in email.body
    assert "the quota resets on Tue 1 Dec, 00:00 UTC." in email.body


def test_without_a_site_url_the_email_says_where_without_a_link(
    tiers: dict[str, Plan],
    settings: Any,
    mailoutbox: list[Any],
    django_capture_on_commit_callbacks: Any,
) -> None:
    settings.TOLLGATE = {**settings.TOLLGATE, "SITE_URL": ""}
    customer_using(1, tiers["Free"], used=900)
    with django_capture_on_commit_callbacks(execute=True):
        alert()
    assert "See your usage, or move to a larger tier, in Tollgate." in mailoutbox[0].body


def test_the_same_queries_for_3_keys_as_for_30_with_alerts_or_without(
    tiers: dict[str, Plan], django_capture_on_commit_callbacks: Any
) -> None:
    """Measured: 9 queries for a run that sends (crossings x3, recorded, keys, owners, INSERT
    and its savepoints), 4 for one that finds nothing new - for 2, 20 or 100 keys alike."""
    counts = []
    for size, first in ((3, 0), (30, 100)):
        for n in range(first, first + size):
            customer_using(n, tiers["Free"], used=900 if n % 2 else 1000)
        runs = []
        for _ in range(2):  # the first run sends, the second finds nothing new
            with (
                CaptureQueriesContext(connection) as queries,
                django_capture_on_commit_callbacks(execute=True),
            ):
                alert()
            runs.append(len(queries))
        counts.append(tuple(runs))
        QuotaAlert.objects.all().delete()
        UsageDay.objects.all().delete()
    assert counts[0] == counts[1], counts
