"""One reconcile() pass over N keys that are all in sync: AWS read calls and seconds.

N = 1,000 and 10,000 keys across 3 tiers (30 customers). The AWS keys are made with ImportApiKeys
(1,000 a call, joining their usage plan through the CSV's UsagePlanIds column) and the database
rows with bulk_create, already synced: no sync task runs. Then one reconcile() is timed and its
AWS calls counted from the local AWS's journal.

    DJANGO_SETTINGS_MODULE=tests.settings .venv/bin/python bench/reconcile_in_sync.py
"""

from __future__ import annotations

import os
import time
import uuid
from collections import Counter

import _sync_setup  # noqa: F401 - configures Django first
from _sync_setup import tiers_and_customers, world

SIZES = (1_000, 10_000)


def populate(n: int, customers: list, plans: list) -> None:
    import boto3
    from django.utils import timezone

    from keys.models import ApiKey
    from portal.sync import SyncStatus

    apigw = boto3.client(
        "apigateway", region_name="us-east-1", endpoint_url=os.environ["AWS_ENDPOINT_URL"]
    )
    plan_of = {c.pk: plans[i % 3] for i, c in enumerate(customers)}
    rows = []
    for i in range(n):
        customer = customers[i % len(customers)]
        public_id = uuid.uuid4()
        rows.append((customer, public_id, f"key {i}", f"v{uuid.uuid4().hex}{i:06d}"))
    for start in range(0, n, 1000):
        lines = ["Name,Key,Description,Enabled,UsagePlanIds"]
        for customer, public_id, name, value in rows[start : start + 1000]:
            lines.append(
                f"tollgate-{public_id},{value},{customer.name}: {name},true,"
                f"{plan_of[customer.pk].aws_id}"
            )
        apigw.import_api_keys(body="\n".join(lines).encode(), format="csv", failOnWarnings=True)
    ids = {}
    for page in apigw.get_paginator("get_api_keys").paginate(PaginationConfig={"PageSize": 500}):
        for item in page["items"]:
            ids[item["name"]] = item["id"]
    now = timezone.now()
    ApiKey.objects.bulk_create(
        [
            ApiKey(
                customer=customer,
                public_id=public_id,
                name=name,
                aws_id=ids[f"tollgate-{public_id}"],
                desired_version=1,
                synced_version=1,
                sync_status=SyncStatus.SYNCED,
                synced_at=now,
            )
            for customer, public_id, name, _ in rows
        ],
        batch_size=1000,
    )


def main() -> None:
    from keys.models import ApiKey
    from portal.reconcile.services import reconcile

    for n in SIZES:
        with world() as (control, drain):
            plans, customers = tiers_and_customers(30, drain)
            t = time.monotonic()
            populate(n, customers, plans)
            print(f"N={n}: set-up (ImportApiKeys + bulk_create) {time.monotonic() - t:.1f}s")
            control.clear_calls()
            t = time.monotonic()
            report = reconcile()
            seconds = time.monotonic() - t
            calls = Counter(c["operation"] for c in control.calls())
            aws_seconds = sum(c["duration"] for c in control.calls())
            summary = report.summary()
            assert ApiKey.objects.count() == n
            print(
                f"N={n}: reconcile {seconds:.2f}s (AWS-side time {aws_seconds:.2f}s), "
                f"{sum(calls.values())} AWS calls: "
                + ", ".join(f"{op} {k}" for op, k in sorted(calls.items()))
                + f"; in_sync={summary['in_sync']} drifted={summary['drifted']} "
                f"resync={summary['resync']} removed={summary['removed']}"
            )


if __name__ == "__main__":
    main()
