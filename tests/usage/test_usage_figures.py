"""Every figure of the usage page, the console's copy, the CSV and the REST summary for one rich
customer: a tier switch mid-period, two accounts and regions, a rotated key whose line continues
in its successor, a revoked key used this period, one used only last month, extra quota granted
in one region, and a row of the old tier collected today. The pages and the API read the same
rows in different ways (the page per day, the summary in sums per key and place): these tests pin
that they agree, figure by figure.

Time stands still at Thu 26 Nov 2026, 14:00 UTC: the period is November (Premium, 100,000 a
month per key and place), the chart runs 28 Oct - 26 Nov.
"""

from __future__ import annotations

import csv
import datetime
import io
import re
import uuid
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from keys.models import ApiKey
from plans.models import ApiStage, Plan
from plans.services import plan_create, subscription_switch
from portal.accounts.models import User
from portal.connections.models import AwsConnection
from portal.customers.models import Customer
from portal.customers.services import customer_onboard
from portal.usage.models import UsageDay
from portal.usage.selectors import customer_usage, usage_summaries, usage_totals
from tests.conftest import FREE, login, make_user
from tests.fixtures.api import api_as

NOW = datetime.datetime(2026, 11, 26, 14, 0, tzinfo=datetime.UTC)
TODAY = NOW.date()
EAST, WEST = "us-east-1", "eu-west-1"


def nov(day: int) -> datetime.date:
    return datetime.date(2026, 11, day)


def at(day: datetime.date) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(12), tzinfo=datetime.UTC)


@pytest.fixture(autouse=True)
def frozen_now(monkeypatch: pytest.MonkeyPatch) -> datetime.datetime:
    monkeypatch.setattr(timezone, "now", lambda: NOW)
    return NOW


@pytest.fixture
def partner(db: None) -> AwsConnection:
    return AwsConnection.objects.create(name="Partner", regions=[WEST])


@pytest.fixture
def rich(
    acme: Customer, tiers: dict[str, Plan], partner: AwsConnection, globex: Customer
) -> dict[str, ApiKey]:
    free, premium = tiers["Free"], tiers["Premium"]
    subscription_switch(actor=None, customer=acme, plan=premium, by_staff=True)
    make = ApiKey.objects.create
    keys = {
        "archive": make(customer=acme, name="archive", revoked_at=at(datetime.date(2026, 10, 31))),
        "batch": make(customer=acme, name="batch", revoked_at=at(nov(15))),
        "old": make(customer=acme, name="production", revoked_at=at(nov(20))),
        "staging": make(customer=acme, name="staging"),
        "idle": make(customer=acme, name="idle"),
    }
    keys["production"] = make(customer=acme, name="production", rotated_from=keys["old"])
    rows: list[UsageDay] = []

    def day(
        key: str, on: datetime.date, plan: Plan, used: int, remaining: int, west: bool = False
    ) -> None:
        rows.append(
            UsageDay(
                key=keys[key],
                plan=plan,
                date=on,
                connection=partner if west else None,
                region=WEST if west else EAST,
                used=used,
                remaining=remaining,
            )
        )

    day("archive", datetime.date(2026, 10, 30), free, 50, 950)
    day("batch", nov(5), free, 800, 200)
    day("batch", nov(12), premium, 4000, 96_000)
    # The old production key: 1,000 a day here and 200 at the partner, on Free until 9 Nov.
    east = west = 0
    for d in range(1, 21):
        plan = free if d < 10 else premium
        east, west = east + 1000, west + 200
        day("old", nov(d), plan, 1000, 0 if plan == free else 100_000 - east)
        day("old", nov(d), plan, 200, 800 if plan == free else 100_000 - west, west=True)
    # Its successor carries on from 20 Nov; 50,000 extra granted here today.
    for d in range(20, 26):
        east, west = east + 1500, west + 300
        day("production", nov(d), premium, 1500, 100_000 - east)
        day("production", nov(d), premium, 300, 100_000 - west, west=True)
    day("production", TODAY, premium, 700, 100_000 - (east + 700) + 50_000)
    day("production", TODAY, premium, 100, 100_000 - (west + 100), west=True)
    day("staging", nov(9), free, 500, 500)
    day("staging", TODAY, free, 200, 800)  # collected under the old tier: not today's quota
    UsageDay.objects.bulk_create(rows)
    globex_key = ApiKey.objects.create(customer=globex, name="globex-backend")
    UsageDay.objects.bulk_create(
        [
            UsageDay(key=globex_key, plan=free, date=nov(25), used=300, remaining=700),
            UsageDay(key=globex_key, plan=free, date=TODAY, used=900, remaining=100),
        ]
    )
    return keys


def cards(page: str) -> dict[str, str]:
    found = {}
    for chunk in page.split('data-testid="usage-key"')[1:]:
        chunk = chunk.split("</article>")[0]
        name = re.search(r"<strong>([^<]+)</strong>", chunk)
        assert name is not None
        found[name.group(1)] = " ".join(chunk.split())
    return found


EXPECTED_KEYS = [  # (name, used, remaining, regions)
    (
        "production",
        35_600,
        94_100,
        [
            {"where": EAST, "used": 29_700, "remaining": 120_300},
            {"where": f"Partner · {WEST}", "used": 5_900, "remaining": 94_100},
        ],
    ),
    ("idle", 0, 100_000, []),
    ("staging", 700, 99_300, []),
    ("batch", 4_800, 95_200, []),
]


def test_the_selector_folds_the_lineage_and_sums_the_places(
    acme: Customer, rich: dict[str, ApiKey]
) -> None:
    usage = customer_usage(acme)
    got = [
        (
            k.key.name,
            k.used,
            k.remaining,
            [{"where": r.where, "used": r.used, "remaining": r.remaining} for r in k.regions],
        )
        for k in usage.keys
    ]
    assert got == EXPECTED_KEYS
    assert [k.key for k in usage.keys] == [
        rich[n] for n in ("production", "idle", "staging", "batch")
    ]
    assert (usage.total_used, usage.total_remaining) == (41_100, 293_400)
    assert (usage.period_start, usage.period_end) == (nov(1), nov(30))
    production = usage.keys[0]
    assert production.extended and production.remaining_where == f"Partner · {WEST}"
    assert production.percent == pytest.approx(35.6)
    assert [k.key.name for k in usage.series] == [
        "production",
        "idle",
        "staging",
        "archive",
        "batch",
    ]
    assert sum(production.daily) == 35_600
    assert production.daily[-8:] == [1200, 3000, 1800, 1800, 1800, 1800, 1800, 800]
    assert usage.daily_totals[2] == 50  # 30 Oct: the archived key, last month
    assert usage.daily_totals[-1] == 1000  # today: production 800 + staging 200


def test_the_page_shows_those_figures(alice: User, rich: dict[str, ApiKey]) -> None:
    page = login(alice).get(reverse("app:usage")).content.decode()
    by_key = cards(page)
    assert list(by_key) == ["production", "idle", "staging", "batch"]
    production = by_key["production"]
    assert "<strong>35,600</strong> of 100,000 requests" in production
    assert "35.6%" in production
    assert (
        f"94,100 remaining in Partner · {WEST}, the region with the least left (with extra "
        "quota) · resets Tue 1 Dec, 00:00 UTC" in production
    )
    assert (
        f'<th scope="row">{EAST}</th><td class="num">29,700</td><td class="num">120,300</td>'
        in production
    )
    assert (
        f'<th scope="row">Partner · {WEST}</th><td class="num">5,900</td>'
        '<td class="num">94,100</td>' in production
    )
    assert (
        "At the pace of the last 7 complete days (about 1,886 requests a day), it won’t run "
        "out this month." in production
    )
    assert "<strong>700</strong> of 100,000 requests" in by_key["staging"]
    staging = by_key["staging"]
    assert "99,300 remaining · resets" in staging
    assert "No requests in the last 7 complete days: it won’t run out this month." in staging
    assert "No usage recorded for this key yet." in by_key["idle"]
    assert "revoked" in by_key["batch"] and "<strong>4,800</strong> of 100,000" in by_key["batch"]
    flat = " ".join(page.split())
    assert '<span class="big">41,100</span>' in flat
    assert '<span class="big">293,400</span>' in flat
    header = re.search(r"<thead><tr><th scope=\"col\">Day \(UTC\)</th>(.*?)</tr></thead>", flat)
    assert header is not None
    assert re.findall(r">([^<]+)</th>", header.group(1)) == [
        "production",
        "idle",
        "staging",
        "archive (revoked)",
        "batch (revoked)",
        "Total",
    ]
    assert (
        '<tr><th scope="row">Thu 26 Nov</th><td class="num">800</td><td class="num">0</td>'
        '<td class="num">200</td><td class="num">0</td><td class="num">0</td>'
        '<td class="num"><strong>1,000</strong></td></tr>' in flat
    )
    assert (
        '<tr><th scope="row">Fri 30 Oct</th><td class="num">0</td><td class="num">0</td>'
        '<td class="num">0</td><td class="num">50</td><td class="num">0</td>'
        '<td class="num"><strong>50</strong></td></tr>' in flat
    )
    match = re.search(r'<script id="usage-chart-data" type="application/json">(.*?)</script>', page)
    assert match is not None
    assert '"label": "archive (revoked)"' in match.group(1)
    assert '"label": "idle"' not in match.group(1)  # nothing to draw


def test_the_console_shows_the_same_figures_with_grant_forms(
    admin: User, acme: Customer, rich: dict[str, ApiKey]
) -> None:
    page = login(admin).get(reverse("console:customer-usage", args=[acme.pk])).content.decode()
    by_key = cards(page)
    assert list(by_key) == ["production", "idle", "staging", "batch"]
    assert "<strong>35,600</strong> of 100,000 requests" in by_key["production"]
    assert "Grant extra quota" in by_key["production"]
    assert "Grant extra quota" not in by_key["batch"]


def test_the_csv_has_a_row_per_key_day_and_place(alice: User, rich: dict[str, ApiKey]) -> None:
    body = login(alice).get(reverse("app:usage-csv")).content.decode()
    rows = list(csv.reader(io.StringIO(body)))
    assert rows[0] == ["date", "key", "requests", "remaining", "region"]
    assert len(rows[1:]) == 40 + 14 + 2 + 2 + 1
    assert rows[1] == ["2026-10-30", "archive (revoked)", "50", "950", EAST]
    on_the_20th = [row for row in rows if row[0] == "2026-11-20"]
    # Both keys are named "production": the older one (revoked) first, each in both places.
    assert [row[1] for row in on_the_20th] == ["production (revoked)"] * 2 + ["production"] * 2
    assert sorted(on_the_20th) == [
        ["2026-11-20", "production", "1500", "78500", EAST],
        ["2026-11-20", "production", "300", "95700", f"Partner · {WEST}"],
        ["2026-11-20", "production (revoked)", "1000", "80000", EAST],
        ["2026-11-20", "production (revoked)", "200", "96000", f"Partner · {WEST}"],
    ]
    assert sorted(row for row in rows if row[0] == "2026-11-26") == [
        ["2026-11-26", "production", "100", "94100", f"Partner · {WEST}"],
        ["2026-11-26", "production", "700", "120300", EAST],
        ["2026-11-26", "staging", "200", "800", EAST],
    ]
    assert sum(int(row[2]) for row in rows[1:]) == 41_150  # this period's 41,100 + October's 50
    assert [row[0] for row in rows[1:]] == sorted(row[0] for row in rows[1:])
    assert "globex" not in body


def _summary_keys(entry: dict[str, Any]) -> list[tuple[str, int, int | None, list[Any]]]:
    return [(k["name"], k["used"], k["remaining"], k["regions"]) for k in entry["keys"]]


def test_the_api_summary_agrees_with_the_page(
    alice: User, acme: Customer, rich: dict[str, ApiKey]
) -> None:
    [entry] = api_as(alice).get("/api/v1/usage/summary").json()["results"]
    assert (entry["customer"], entry["tier"], entry["quota_period"]) == (
        acme.pk,
        "premium",
        "MONTH",
    )
    assert (entry["period_start"], entry["period_end"], entry["used"]) == (
        "2026-11-01",
        "2026-11-30",
        41_100,
    )
    assert _summary_keys(entry) == EXPECTED_KEYS
    assert entry["keys"][0]["key"] == str(rich["production"].public_id)


def test_staff_page_through_every_customer_with_the_same_figures(
    admin: User, acme: Customer, globex: Customer, rich: dict[str, ApiKey]
) -> None:
    client = api_as(admin)
    first = client.get("/api/v1/usage/summary?limit=1").json()
    [acme_entry] = first["results"]
    assert acme_entry["customer"] == acme.pk and _summary_keys(acme_entry) == EXPECTED_KEYS
    second = client.get(first["next"]).json()
    [globex_entry] = second["results"]
    assert (globex_entry["customer"], globex_entry["tier"], globex_entry["used"]) == (
        globex.pk,
        "free",
        900,
    )
    assert _summary_keys(globex_entry) == [("globex-backend", 900, 100, [])]
    assert second["next"] is None
    both = client.get("/api/v1/usage/summary").json()["results"]
    assert [e["customer"] for e in both] == [acme.pk, globex.pk]
    assert both[0] == acme_entry


def test_the_days_list_is_newest_first_a_keys_places_together_and_pages_through_all(
    admin: User, rich: dict[str, ApiKey]
) -> None:
    client = api_as(admin)
    first = client.get("/api/v1/usage/days").json()["results"]
    ids = {key.public_id: key.pk for key in ApiKey.objects.all()}
    order = [(row["date"], ids[uuid.UUID(row["key"])]) for row in first]
    assert order == sorted(order, reverse=True)
    # Today's rows: the newest key first, then production's two places (the later row first).
    assert [(row["key_name"], row["region"], row["used"]) for row in first[:4]] == [
        ("globex-backend", EAST, 900),
        ("production", WEST, 100),
        ("production", EAST, 700),
        ("staging", EAST, 200),
    ]
    seen, url = [], "/api/v1/usage/days?limit=7"
    while url:
        page = client.get(url).json()
        seen += [(row["date"], row["key"], row["region"]) for row in page["results"]]
        url = page["next"]
    assert len(seen) == len(set(seen)) == UsageDay.objects.count()


@pytest.mark.parametrize("read", [usage_summaries, usage_totals])
def test_a_page_of_customers_costs_the_queries_of_one(
    read: Any, acme: Customer, globex: Customer, rich: dict[str, ApiKey]
) -> None:
    with CaptureQueriesContext(connection) as one:
        read([acme])
    with CaptureQueriesContext(connection) as two:
        read([acme, globex])
    assert len(one) == len(two) == 3


def test_the_summary_and_the_page_agree_for_each_customer(
    acme: Customer, globex: Customer, rich: dict[str, ApiKey]
) -> None:
    pages = usage_summaries([acme, globex])
    sums = usage_totals([acme, globex])
    for page, summary in zip(pages, sums, strict=True):
        assert (page.total_used, page.total_remaining) == (
            summary.total_used,
            summary.total_remaining,
        )
        for key, totals in zip(page.keys, summary.keys, strict=True):
            assert (key.key, key.used, key.remaining, key.percent, key.places) == (
                totals.key,
                totals.used,
                totals.remaining,
                totals.percent,
                totals.places,
            )


def test_a_customer_without_keys_or_quota_is_summed_over_the_month(
    admin: User, acme: Customer, stage: ApiStage, tiers: dict[str, Plan]
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
    firehose = ApiKey.objects.create(customer=acme, name="firehose")
    UsageDay.objects.bulk_create(
        [
            UsageDay(
                key=firehose, plan=unlimited, date=datetime.date(2026, 10, 31), used=5, remaining=0
            ),
            UsageDay(key=firehose, plan=unlimited, date=TODAY, used=1_234_567, remaining=0),
        ]
    )
    bare = customer_onboard(owner=make_user("kim@bare.test"), organisation_name="Bare")
    entries = api_as(admin).get("/api/v1/usage/summary").json()["results"]
    by_name = {entry["customer_name"]: entry for entry in entries}
    assert (by_name["Acme"]["quota_limit"], by_name["Acme"]["quota_period"]) == (None, None)
    assert (by_name["Acme"]["period_start"], by_name["Acme"]["used"]) == ("2026-11-01", 1_234_567)
    assert _summary_keys(by_name["Acme"]) == [("firehose", 1_234_567, None, [])]
    assert (by_name["Bare"]["used"], by_name["Bare"]["keys"]) == (0, [])
    page, summary = customer_usage(acme), usage_totals([acme, bare])[0]
    assert (page.total_used, page.total_remaining) == (summary.total_used, None)


def test_customers_without_keys_cost_no_more_queries(admin: User, acme: Customer) -> None:
    with CaptureQueriesContext(connection) as queries:
        [totals] = usage_totals([acme])
    assert totals.keys == [] and totals.total_used == 0
    assert len(queries) <= 3
