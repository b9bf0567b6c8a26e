"""The usage pages: a customer's quota bars, forecasts, daily chart and CSV; the console's copy.

Time stands still at Thu 26 Nov 2026, 14:00 UTC, so the forecasts are exact: the period is
November, the quota resets Tue 1 Dec and 14/24 of today has gone.
"""

from __future__ import annotations

import csv
import datetime
import io
import json
import re
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from keys.models import ApiKey
from keys.services import key_create, key_revoke
from plans.models import Plan
from plans.services import plan_create, subscription_switch
from portal.accounts.models import User
from portal.audit.models import AuditEvent
from portal.customers.models import Customer
from portal.usage.models import UsageDay
from portal.usage.periods import period_bounds
from tests.conftest import FREE, login

NOW = datetime.datetime(2026, 11, 26, 14, 0, tzinfo=datetime.UTC)
TODAY = NOW.date()
NOVEMBER = [datetime.date(2026, 11, d) for d in range(1, 27)]  # up to today


@pytest.fixture(autouse=True)
def frozen_now(monkeypatch: pytest.MonkeyPatch) -> datetime.datetime:
    monkeypatch.setattr(timezone, "now", lambda: NOW)
    return NOW


def record(key: ApiKey, plan: Plan, used_by_day: dict[datetime.date, int]) -> None:
    """UsageDay rows as collection writes them: `remaining` counts down within each period."""
    rows = []
    used_in_period: dict[datetime.date, int] = {}
    for day in sorted(used_by_day):
        start = period_bounds(plan.quota_period, day)[0] if plan.quota_period else day
        used_in_period[start] = used_in_period.get(start, 0) + used_by_day[day]
        remaining = max(0, (plan.quota_limit or 0) - used_in_period[start])
        rows.append(
            UsageDay(key=key, plan=plan, date=day, used=used_by_day[day], remaining=remaining)
        )
    UsageDay.objects.bulk_create(rows)


def cards(page: str) -> dict[str, str]:
    """The per-key blocks of the page, by key name."""
    found = {}
    for chunk in page.split('data-testid="usage-key"')[1:]:
        chunk = chunk.split("</article>")[0]
        name = re.search(r"<strong>([^<]+)</strong>", chunk)
        assert name is not None
        found[name.group(1)] = " ".join(chunk.split())
    return found


def chart_data(page: str) -> dict[str, Any]:
    match = re.search(r'<script id="usage-chart-data" type="application/json">(.*?)</script>', page)
    assert match is not None, "the chart's data is not on the page"
    data: dict[str, Any] = json.loads(match.group(1))
    return data


@pytest.fixture
def premium_acme(alice: User, acme: Customer, tiers: dict[str, Plan]) -> dict[str, ApiKey]:
    """Acme on Premium (100,000 a month) with a busy key, a quiet one, one at its quota, an idle
    one and a revoked one that was used this month."""
    subscription_switch(actor=None, customer=acme, plan=tiers["Premium"], by_staff=True)
    premium = tiers["Premium"]
    keys = {
        name: key_create(actor=alice, customer=acme, name=name)
        for name in ("legacy", "idle", "batch", "staging", "production")
    }
    # 3,500 a day; today, 14 hours in, 2,042 so far: 89,542 used, 10,458 left, 3,500 a day.
    record(keys["production"], premium, dict.fromkeys(NOVEMBER[:-1], 3500) | {TODAY: 2042})
    record(keys["staging"], premium, dict.fromkeys(NOVEMBER, 100))
    record(keys["batch"], premium, {datetime.date(2026, 11, 2): 60_000, TODAY: 40_000})
    record(
        keys["legacy"], premium, {datetime.date(2026, 10, 30): 700, datetime.date(2026, 11, 3): 500}
    )
    key_revoke(actor=alice, key=keys["legacy"])
    return keys


@pytest.fixture
def globex_usage(bob: User, globex: Customer, tiers: dict[str, Plan]) -> ApiKey:
    """Globex on Free (1,000 a day): 900 requests by 14:00 today."""
    key = key_create(actor=bob, customer=globex, name="globex-secret-backend")
    record(key, tiers["Free"], {TODAY - datetime.timedelta(days=1): 300, TODAY: 900})
    return key


def test_it_shows_each_keys_quota_bar_reset_and_forecast(
    alice: User, premium_acme: dict[str, ApiKey], globex_usage: ApiKey
) -> None:
    response = login(alice).get(reverse("app:usage"))
    page = response.content.decode()
    assert response.status_code == 200
    by_key = cards(page)
    assert list(by_key) == ["production", "staging", "batch", "idle", "legacy"]

    production = by_key["production"]
    assert "<strong>89,542</strong> of 100,000 requests" in production
    assert "89.5%" in production
    assert "usage-bar usage-bar-warn" in production  # amber from 80%
    assert 'max="100" value="89.54"' in production
    assert "10,458 remaining · resets Tue 1 Dec, 00:00 UTC" in production
    assert (
        "At the pace of the last 7 complete days (about 3,500 requests a day), the quota runs "
        "out on Sun 29 Nov, before it resets." in production
    )

    staging = by_key["staging"]
    assert "<strong>2,600</strong> of 100,000 requests" in staging
    assert "usage-bar usage-bar-ok" in staging
    assert (
        "At the pace of the last 7 complete days (about 100 requests a day), it won’t run out "
        "this month." in staging
    )

    batch = by_key["batch"]
    assert "100%" in batch
    assert "usage-bar usage-bar-over" in batch  # red at 100%
    assert "0 remaining" in batch
    assert "The quota is used up: API Gateway refuses this key’s requests with 429" in batch

    assert "No usage recorded for this key yet." in by_key["idle"]
    assert "revoked" in by_key["legacy"] and "<strong>500</strong> of 100,000" in by_key["legacy"]

    assert "resets Tue 1 Dec, 00:00 UTC" in page
    assert "Thu 26 Nov" in page  # the table's newest row
    assert (
        "Figures come from API Gateway's usage plans and are collected every few minutes; "
        "requests refused with 429 are not counted." in page
    )
    assert "globex-secret-backend" not in page
    assert 'href="/app/usage/" aria-current="page">Usage</a>' in page


def test_the_chart_has_30_days_stacked_by_key(
    alice: User, premium_acme: dict[str, ApiKey], globex_usage: ApiKey
) -> None:
    page = login(alice).get(reverse("app:usage")).content.decode()
    data = chart_data(page)
    assert len(data["labels"]) == 30
    assert data["labels"][0] == "28 Oct" and data["labels"][-1] == "26 Nov"
    assert data["titles"][-1] == "Thu 26 Nov 2026"
    series = {d["label"]: d["data"] for d in data["datasets"]}
    assert set(series) == {"production", "staging", "batch", "legacy (revoked)"}  # idle: nothing
    assert series["production"][-1] == 2042
    assert sum(series["production"]) == 89_542
    assert series["legacy (revoked)"][2] == 700  # 30 Oct: before this period, still charted
    assert sum(series["batch"]) == 100_000
    assert '<canvas id="usage-chart"' in page
    assert "vendor/chart.umd.min.js" in page


def test_a_day_quota_is_too_early_to_tell_from_one_day_and_a_half(
    bob: User, globex_usage: ApiKey
) -> None:
    page = login(bob).get(reverse("app:usage")).content.decode()
    card = cards(page)["globex-secret-backend"]
    assert "<strong>900</strong> of 1,000 requests" in card
    assert "100 remaining · resets Fri 27 Nov, 00:00 UTC" in card
    assert (
        "Too early to tell: the forecast needs 3 complete days (UTC) of traffic and has 1." in card
    )
    assert "Forecasts use the last 7 complete UTC days" in page


def test_a_day_quota_says_what_a_day_takes(
    bob: User, globex_usage: ApiKey, tiers: dict[str, Plan]
) -> None:
    days = [TODAY - datetime.timedelta(days=n) for n in range(2, 9)]  # 18 - 24 Nov
    record(
        globex_usage, tiers["Free"], dict.fromkeys(days[:5], 1000) | dict.fromkeys(days[5:], 400)
    )
    card = cards(login(bob).get(reverse("app:usage")).content.decode())["globex-secret-backend"]
    # 19 - 25 Nov: 400, then 5 days at 1,000, the 25th at 300 = 5,700 / 7 = 814 a day.
    assert (
        "The quota resets every day. Over the last 7 complete days this key used about 814 "
        "requests a day (81% of it); it ran out on 5 of them." in card
    )


def test_a_tier_without_quota_shows_use_without_bars(
    alice: User, acme: Customer, stage: Any, tiers: dict[str, Plan]
) -> None:
    unlimited = plan_create(
        actor=None,
        data={
            **FREE,
            "name": "Unlimited",
            "is_default": False,
            "quota_limit": None,
            "quota_period": "",
        },
        stages=[stage],
    )
    subscription_switch(actor=None, customer=acme, plan=unlimited, by_staff=True)
    key = key_create(actor=alice, customer=acme, name="firehose")
    record(key, unlimited, {datetime.date(2026, 10, 31): 5, TODAY: 1_234_567})
    key_create(actor=alice, customer=acme, name="spare")

    page = login(alice).get(reverse("app:usage")).content.decode()
    by_key = cards(page)
    assert "<strong>1,234,567</strong> requests this month" in by_key["firehose"]
    assert "no quota" in by_key["firehose"]
    assert "No usage recorded for this key yet." in by_key["spare"]
    assert "usage-bar" not in page
    assert "resets" not in page
    assert "At this pace" not in page
    assert "no quota, so the figures below are this month's use" in page


def test_a_customer_without_usage_is_told_so(alice: User, acme: Customer) -> None:
    key_create(actor=alice, customer=acme, name="production")
    page = login(alice).get(reverse("app:usage")).content.decode()
    assert "No usage recorded for this key yet." in page
    assert "No usage recorded in the last 30 days." in page
    assert "usage-chart-data" not in page


def test_the_csv_holds_only_the_customers_own_keys(
    alice: User, premium_acme: dict[str, ApiKey], globex_usage: ApiKey
) -> None:
    response = login(alice).get(reverse("app:usage-csv"))
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="usage-acme-2026-11-26.csv"'
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == ["date", "key", "requests", "remaining", "region"]
    body = rows[1:]
    assert ["2026-11-26", "production", "2042", "10458", "us-east-1"] in body
    assert ["2026-10-30", "legacy (revoked)", "700", "99300", "us-east-1"] in body
    assert {row[1] for row in body} == {"production", "staging", "batch", "legacy (revoked)"}
    assert sum(int(row[2]) for row in body if row[1] == "production") == 89_542
    assert len(body) == 26 + 26 + 2 + 2
    assert [row[0] for row in body] == sorted(row[0] for row in body)
    assert "globex" not in response.content.decode()


def test_bob_sees_only_globex_in_his_csv(
    bob: User, globex_usage: ApiKey, premium_acme: Any
) -> None:
    body = login(bob).get(reverse("app:usage-csv")).content.decode().splitlines()
    assert body == [
        "date,key,requests,remaining,region",
        "2026-11-25,globex-secret-backend,300,700,us-east-1",
        "2026-11-26,globex-secret-backend,900,100,us-east-1",
    ]


# --- who may see what --------------------------------------------------------------------------


def test_alice_cannot_read_globex_usage_in_the_console(
    alice: User, globex: Customer, globex_usage: ApiKey
) -> None:
    response = login(alice).get(reverse("console:customer-usage", args=[globex.pk]))
    assert response.status_code == 403
    assert "globex-secret-backend" not in response.content.decode()


@pytest.mark.parametrize("route", ["app:usage", "app:usage-csv"])
def test_charlie_without_an_organisation_is_sent_to_welcome(charlie: User, route: str) -> None:
    response = login(charlie).get(reverse(route))
    assert response.status_code == 302 and response["Location"] == reverse("welcome")


@pytest.mark.parametrize("route", ["app:usage", "app:usage-csv"])
def test_anonymous_people_must_sign_in(client: Client, db: None, route: str) -> None:
    response = client.get(reverse(route))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_ops_read_a_customers_usage_but_cannot_grant(
    ops: User, acme: Customer, premium_acme: dict[str, ApiKey]
) -> None:
    client = login(ops)
    response = client.get(reverse("console:customer-usage", args=[acme.pk]))
    page = response.content.decode()
    assert response.status_code == 200
    assert "Usage of Acme" in page
    assert "the quota runs out on Sun 29 Nov, before it resets." in page
    assert "Grant extra quota" not in page

    key = premium_acme["production"]
    denied = client.post(reverse("console:grant-quota", args=[acme.pk, key.pk]), {"extra": "500"})
    assert denied.status_code == 403
    assert not AuditEvent.objects.filter(action="key.quota_extended").exists()
    assert UsageDay.objects.get(key=key, date=TODAY).remaining == 10_458


def test_admins_see_the_grant_form_and_the_link_from_the_customer_page(
    admin: User, acme: Customer, premium_acme: dict[str, ApiKey]
) -> None:
    client = login(admin)
    detail = client.get(reverse("console:customer", args=[acme.pk])).content.decode()
    url = reverse("console:customer-usage", args=[acme.pk])
    assert f'href="{url}"' in detail
    page = client.get(url).content.decode()
    by_key = cards(page)
    assert "Grant extra quota" in by_key["production"]
    assert "Grant extra quota" not in by_key["legacy"]  # revoked
    grant_url = reverse("console:grant-quota", args=[acme.pk, premium_acme["production"].pk])
    assert f'action="{grant_url}"' in page


def test_a_key_of_another_customer_cannot_be_granted_through_this_one(
    admin: User, acme: Customer, premium_acme: dict[str, ApiKey], globex_usage: ApiKey
) -> None:
    response = login(admin).post(
        reverse("console:grant-quota", args=[acme.pk, globex_usage.pk]), {"extra": "500"}
    )
    assert response.status_code == 404
    assert not AuditEvent.objects.filter(action="key.quota_extended").exists()


def test_staff_are_sent_to_the_console_from_the_customer_page(admin: User) -> None:
    response = login(admin).get(reverse("app:usage"))
    assert response.status_code == 302
    assert response["Location"] == reverse("console:overview")


# --- a constant number of queries ----------------------------------------------------------------


def _keys_with_a_month_of_usage(alice: User, acme: Customer, plan: Plan, count: int) -> None:
    subscription_switch(actor=None, customer=acme, plan=plan, by_staff=True)
    days = [TODAY - datetime.timedelta(days=n) for n in range(30)]
    for i in range(count):
        key = key_create(actor=alice, customer=acme, name=f"key-{i:02}")
        record(key, plan, dict.fromkeys(days, 10 + i))


def _queries(client: Client, route: str, *args: Any) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse(route, args=args))
    assert response.status_code == 200
    return len(queries)


def test_the_pages_cost_the_same_queries_for_3_or_30_keys(
    alice: User, admin: User, acme: Customer, tiers: dict[str, Plan]
) -> None:
    _keys_with_a_month_of_usage(alice, acme, tiers["Premium"], 3)
    customer, console = login(alice), login(admin)
    few = (
        _queries(customer, "app:usage"),
        _queries(customer, "app:usage-csv"),
        _queries(console, "console:customer-usage", acme.pk),
    )
    ApiKey.objects.all().delete()
    _keys_with_a_month_of_usage(alice, acme, tiers["Enterprise"], 30)
    many = (
        _queries(customer, "app:usage"),
        _queries(customer, "app:usage-csv"),
        _queries(console, "console:customer-usage", acme.pk),
    )
    assert few == many
    assert many == (6, 4, 8)  # the console: + the MFA check, + the tier-request badge
    page = customer.get(reverse("app:usage")).content.decode()
    assert len(cards(page)) == 30
    assert len(chart_data(page)["datasets"]) == 30
