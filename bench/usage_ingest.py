"""Ingest of one day of usage for N keys: collect_usage()'s AWS calls, seconds and memory.

N = 10,000 and 50,000 keys across 3 tiers (Free: DAY quota, Premium and Enterprise: MONTH;
30 customers). Set-up, not timed: the AWS keys are made with ImportApiKeys (1,000 a call, joining
their usage plan through the CSV's UsagePlanIds column), the database rows with bulk_create
(already synced), and one day of usage per key is written straight into the local AWS's usage
store in-process (`localaws.usage.usage_store.set_many`). Each tier already has a row in its
current period, so the run is the steady-state one (yesterday and today), not the first-time
backfill of a whole month.

Then one `portal.usage.services.collect_usage()` is timed; GetUsage calls come from the local
AWS's journal, rows upserted from its result, peak Python memory from tracemalloc (which slows
the run, so the seconds are measured in a second, untraced run on the same data).

    .venv/bin/python bench/usage_ingest.py [N ...]
"""

from __future__ import annotations

import datetime
import os
import sys
import time
import tracemalloc
import uuid
from collections import Counter
from typing import Any

import _sync_setup  # noqa: F401 - configures Django first
from _sync_setup import tiers_and_customers, world

SIZES = (10_000, 50_000)
CUSTOMERS = 30


def populate(n: int, customers: list[Any], plans: list[Any], today: datetime.date) -> None:
    import boto3
    from django.utils import timezone

    from keys.models import ApiKey
    from localaws.usage import UsageRecord, usage_store
    from portal.sync import SyncStatus
    from portal.usage.models import UsageDay

    apigw = boto3.client(
        "apigateway", region_name="us-east-1", endpoint_url=os.environ["AWS_ENDPOINT_URL"]
    )
    plan_of = {c.pk: plans[i % 3] for i, c in enumerate(customers)}
    rows = []
    for i in range(n):
        customer = customers[i % len(customers)]
        rows.append((customer, uuid.uuid4(), f"key {i}", f"v{uuid.uuid4().hex}{i:06d}"))
    aws_ids: list[str] = []
    for start in range(0, n, 1000):
        lines = ["Name,Key,Description,Enabled,UsagePlanIds"]
        for customer, public_id, name, value in rows[start : start + 1000]:
            lines.append(
                f"tollgate-{public_id},{value},{customer.name}: {name},true,"
                f"{plan_of[customer.pk].aws_id}"
            )
        answer = apigw.import_api_keys(
            body="\n".join(lines).encode(), format="csv", failOnWarnings=True
        )
        aws_ids += answer["ids"]  # in the file's order
    assert len(aws_ids) == n
    now = timezone.now()
    keys = ApiKey.objects.bulk_create(
        [
            ApiKey(
                customer=customer,
                public_id=public_id,
                name=name,
                aws_id=aws_id,
                desired_version=1,
                synced_version=1,
                sync_status=SyncStatus.SYNCED,
                synced_at=now,
            )
            for (customer, public_id, name, _), aws_id in zip(rows, aws_ids, strict=True)
        ],
        batch_size=1000,
    )
    # One day of usage per key (a few quiet keys: a zero still costs today's row).
    usage_store.set_many(
        UsageRecord(plan_of[customer.pk].aws_id, aws_id, today, (i * 37) % 900)
        for i, ((customer, *_), aws_id) in enumerate(zip(rows, aws_ids, strict=True))
    )
    # Steady state: every tier has been collected this period before (one row each, yesterday).
    seen: set[int] = set()
    earlier = []
    for key in keys:
        plan = plan_of[key.customer_id]
        if plan.pk not in seen:
            seen.add(plan.pk)
            earlier.append(
                UsageDay(
                    key=key,
                    plan=plan,
                    date=today - datetime.timedelta(days=1),
                    used=0,
                    remaining=0,
                )
            )
    UsageDay.objects.bulk_create(earlier)


def run(n: int) -> None:
    from django.utils import timezone

    from keys.models import ApiKey
    from portal.usage.models import UsageDay
    from portal.usage.services import collect_usage

    today = timezone.now().date()
    with world() as (control, drain):
        plans, customers = tiers_and_customers(CUSTOMERS, drain)
        t = time.monotonic()
        populate(n, customers, plans, today)
        setup = time.monotonic() - t
        assert ApiKey.objects.count() == n

        control.clear_calls()
        tracemalloc.start()
        t = time.monotonic()
        result = collect_usage(today=today)
        traced_seconds = time.monotonic() - t
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        calls = Counter(c["operation"] for c in control.calls())
        aws_seconds = sum(c["duration"] for c in control.calls())

        # The same run again, untraced: the figure for seconds (rows are upserted again).
        control.clear_calls()
        t = time.monotonic()
        again = collect_usage(today=today)
        seconds = time.monotonic() - t
        aws_seconds_again = sum(c["duration"] for c in control.calls())

        today_rows = UsageDay.objects.filter(date=today).count()
        print(
            f"N={n}: collect_usage {seconds:.2f}s (AWS-side {aws_seconds_again:.2f}s; "
            f"{traced_seconds:.2f}s under tracemalloc, AWS-side {aws_seconds:.2f}s), "
            f"{sum(calls.values())} AWS calls: "
            + ", ".join(f"{op} {k}" for op, k in sorted(calls.items()))
            + f"; tiers {result.tiers}, keys {result.keys}, rows upserted {result.rows} "
            f"(again: {again.rows}), UsageDay rows for today {today_rows}; "
            f"peak traced memory {peak / 2**20:.0f} MiB; set-up {setup:.1f}s",
            flush=True,
        )


def main() -> None:
    sizes = tuple(int(a) for a in sys.argv[1:]) or SIZES
    for n in sizes:
        run(n)


if __name__ == "__main__":
    main()
