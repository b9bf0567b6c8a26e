"""Database queries per page, at 10 and at 10,000 customers: the figures must not grow.

Pages, through the Django test client, logged in: the customer usage page (/app/usage/) and keys
page (/app/) as Acme's owner, and the ops metrics page (/console/metrics/) as ops. Acme always
has the same 3 keys with 5 days of usage each; the other N customers come from bulk_create (one
key each, 5 UsageDay rows per key, every fifth key near its quota and every tenth over it:
tests/fixtures/traffic.py's `bulk_customers_with_usage`). The ops page reads CloudWatch from
the local AWS (no datapoints; its cache is cleared before each measured request), which costs no
database query either way.

Each page is requested twice; the second (warm) request is measured, the first (cold) is shown
in brackets (it may also load the session's user and per-process caches).

    .venv/bin/python bench/page_queries.py [N ...]
"""

from __future__ import annotations

import datetime
import sys
from typing import Any

import _sync_setup  # noqa: F401 - configures Django first
from _sync_setup import world

SIZES = (10, 10_000)
PAGES = (
    ("customer usage", "/app/usage/", "owner"),
    ("customer keys", "/app/", "owner"),
    ("ops metrics", "/console/metrics/", "ops"),
)


def measure(n: int) -> dict[str, tuple[int, int, int]]:
    from django.core.cache import cache
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from keys.models import ApiKey
    from plans.models import ApiStage
    from plans.services import plan_create
    from portal.accounts.models import StaffRole
    from portal.customers.services import customer_onboard
    from portal.usage.models import UsageDay
    from tests.conftest import FREE, PREMIUM, make_user
    from tests.fixtures.traffic import bulk_customers_with_usage

    today = timezone.now().date()
    found: dict[str, tuple[int, int, int]] = {}
    with world() as (_control, _drain):
        stage = ApiStage.objects.create(
            region="us-east-1",
            rest_api_id="abc123",
            stage_name="prod",
            api_name="Weather API",
            available=True,
        )
        plans = [plan_create(actor=None, data=dict(s), stages=[stage]) for s in (FREE, PREMIUM)]
        owner = make_user("alice@acme.test")
        acme = customer_onboard(owner=owner, organisation_name="Acme")
        keys = ApiKey.objects.bulk_create(
            [ApiKey(customer=acme, name=f"key {i}", aws_id=f"kacme{i}") for i in range(3)]
        )
        UsageDay.objects.bulk_create(
            [
                UsageDay(
                    key=key,
                    plan=plans[0],
                    date=today - datetime.timedelta(days=d),
                    used=10 * d + 1,
                    remaining=500,
                )
                for key in keys
                for d in range(5)
            ]
        )
        bulk_customers_with_usage(n, plans[1], today)  # rebuilds the roll-ups, for acme's too
        people: dict[str, Any] = {"owner": owner, "ops": make_user("ops@t.test", StaffRole.OPS)}
        for name, url, who in PAGES:
            client = Client()
            client.force_login(people[who])
            counts = []
            for _ in range(2):
                cache.clear()
                with CaptureQueriesContext(connection) as queries:
                    response = client.get(url)
                assert response.status_code == 200, (url, response.status_code)
                counts.append(len(queries))
            found[name] = (counts[1], counts[0], len(response.content))
    return found


def main() -> None:
    sizes = tuple(int(a) for a in sys.argv[1:]) or SIZES
    results = {n: measure(n) for n in sizes}
    head = f"{'page':<16}" + "".join(f"{f'{n:,} customers':>22}" for n in sizes)
    print(head)
    for name, url, _ in PAGES:
        cells = "".join(
            f"{f'{results[n][name][0]} ({results[n][name][1]} cold)':>22}" for n in sizes
        )
        print(f"{name:<16}{cells}   {url}")
    print(
        "queries per warm request (first, cold request in brackets); page sizes in bytes: "
        + "; ".join(
            f"{name} " + "/".join(f"{results[n][name][2]:,}" for n in sizes) for name, _, _ in PAGES
        )
    )


if __name__ == "__main__":
    main()
