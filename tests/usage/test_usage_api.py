"""/api/v1/usage/days and /api/v1/usage/summary: a customer's keys' days between dates."""

from __future__ import annotations

import datetime

from django.utils import timezone

from keys.models import ApiKey
from plans.models import Plan
from portal.accounts.models import User
from portal.usage.models import UsageDay
from tests.fixtures.api import api_as


def test_usage_days_per_key_between_dates(
    alice: User, acme_key: ApiKey, globex_key: ApiKey, tiers: dict[str, Plan]
) -> None:
    today = timezone.now().date()
    for days_ago, used in ((0, 5), (1, 7), (3, 11)):
        UsageDay.objects.create(
            key=acme_key,
            plan=tiers["Free"],
            date=today - datetime.timedelta(days=days_ago),
            used=used,
            remaining=100,
        )
    UsageDay.objects.create(key=globex_key, plan=tiers["Free"], date=today, used=99, remaining=1)
    client = api_as(alice)

    start = today - datetime.timedelta(days=2)
    rows = client.get(
        f"/api/v1/usage/days?key={acme_key.public_id}&from={start}&to={today}"
    ).json()["results"]
    assert [(r["date"], r["used"]) for r in rows] == [
        (str(today), 5),
        (str(start + datetime.timedelta(days=1)), 7),
    ]
    everything = client.get("/api/v1/usage/days").json()["results"]
    assert 99 not in [r["used"] for r in everything]  # Globex's day is not Acme's business

    summary = client.get("/api/v1/usage/summary").json()["results"]
    assert len(summary) == 1
    assert (summary[0]["tier"], summary[0]["quota_period"], summary[0]["used"]) == (
        "free",
        "DAY",
        5,
    )
    assert summary[0]["keys"] == [
        {
            "key": str(acme_key.public_id),
            "name": "production",
            "used": 5,
            "remaining": 100,
            "regions": [],
        }
    ]
