"""One reconcile() pass over N keys that are all in sync, in two regions: AWS calls, seconds and
writes, per region.

The demo API is deployed in us-east-1 and eu-west-1 of one account (the default connection
covers both), and 3 tiers cover its stage in each, so every tier is two usage plans and every
key two copies with the same value. N = 1,000 and 10,000 keys across those tiers (30
customers). The AWS keys are made with ImportApiKeys in each region (1,000 a call, joining
their region's usage plan through the CSV's UsagePlanIds column) and the database rows (keys
and their copies) with bulk_create, already synced: no sync task runs. Then one reconcile() is
timed, its AWS calls counted per region from the local AWS's journal (against the minimum: the
pages of GetUsagePlans, of GetApiKeys at 500 a page and of GetUsagePlanKeys of each usage plan,
and against the read budget of 10 requests a second per account and region), and its database
queries, write statements and rows written counted (an in-sync pass writes its run alone).

    DJANGO_SETTINGS_MODULE=tests.settings .venv/bin/python bench/reconcile_in_sync.py [N ...]
"""

from __future__ import annotations

import os
import sys
import time
import uuid
from collections import Counter
from typing import Any

import _sync_setup  # noqa: F401 - configures Django first
from _sync_setup import world

SIZES = tuple(int(n) for n in sys.argv[1:]) or (1_000, 10_000)
REGIONS = ("us-east-1", "eu-west-1")
AWS_WRITES = ("Create", "Update", "Delete", "Import")


READ_BUDGET = 10.0  # API Gateway's GET requests per second per account and region


class RowsWritten:
    """A connection.execute_wrapper counting the rows each INSERT, UPDATE and DELETE wrote, by
    table."""

    def __init__(self) -> None:
        self.rows: Counter[str] = Counter()

    def __call__(self, execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        result = execute(sql, params, many, context)
        words = sql.lstrip().split(None, 3)
        verb = words[0].upper() if words else ""
        if verb in ("INSERT", "UPDATE", "DELETE"):
            table = words[2] if verb in ("INSERT", "DELETE") else words[1]
            # INSERT ... RETURNING tells no count before its rows are read: one per statement.
            rows = context["cursor"].rowcount
            rows = 1 if rows <= 0 and verb == "INSERT" else max(rows, 0)
            self.rows[f"{verb} {table.strip(chr(34))}"] += rows
        return result


def minimum_reads(region: str) -> int:
    """The fewest GET requests that list one place: every usage plan, every key, and the keys
    of each of Tollgate's usage plans there, at AWS's page size."""
    from portal.aws.apigateway import PAGE_SIZE

    apigw = client(region)
    plans = [p for page in apigw.get_paginator("get_usage_plans").paginate() for p in page["items"]]
    keys = sum(
        len(page["items"])
        for page in apigw.get_paginator("get_api_keys").paginate(
            PaginationConfig={"PageSize": PAGE_SIZE}
        )
    )

    def pages(n: int) -> int:
        return max(1, -(-n // PAGE_SIZE))

    members = [
        sum(
            len(page["items"])
            for page in apigw.get_paginator("get_usage_plan_keys").paginate(
                usagePlanId=plan["id"], PaginationConfig={"PageSize": PAGE_SIZE}
            )
        )
        for plan in plans
    ]
    return pages(len(plans)) + pages(keys) + sum(pages(m) for m in members)


def client(region: str) -> Any:
    import boto3

    return boto3.client(
        "apigateway", region_name=region, endpoint_url=os.environ["AWS_ENDPOINT_URL"]
    )


def two_region_tiers(customer_count: int, drain: Any) -> tuple[list[Any], list[Any]]:
    """Free, Premium and Enterprise covering the demo stage in both regions, synced, and
    `customer_count` customers spread over them (through the services, as the pages would)."""
    from localaws.demo_api import ensure_demo_api
    from localaws.demo_estate import EU_DOMAIN
    from plans.models import ApiStage
    from plans.services import plan_create, subscription_switch
    from plans.stages import stage_set_available, stages_discover
    from portal.connections.models import AwsConnection
    from portal.customers.services import customer_onboard
    from tests.conftest import ENTERPRISE, FREE, PREMIUM, make_user

    ensure_demo_api(client(REGIONS[0]))
    ensure_demo_api(client(REGIONS[1]), domain=EU_DOMAIN)
    AwsConnection.objects.create(name="Main", is_default=True, regions=list(REGIONS))
    stages_discover()
    stages = [
        stage_set_available(actor=None, stage=stage, available=True)
        for stage in ApiStage.objects.all()
    ]
    plans = [
        plan_create(actor=None, data=dict(s), stages=stages) for s in (FREE, PREMIUM, ENTERPRISE)
    ]
    drain()
    customers = []
    for i in range(customer_count):
        customer = customer_onboard(
            owner=make_user(f"o{i}@c{i}.test"), organisation_name=f"Customer {i}"
        )
        if i % 3:
            subscription_switch(actor=None, customer=customer, plan=plans[i % 3], by_staff=True)
        customers.append(customer)
    drain()
    return plans, customers


def populate(n: int, customers: list[Any], plans: list[Any]) -> None:
    from django.utils import timezone

    from keys.models import ApiKey, KeyCopy
    from plans.models import PlanCopy
    from portal.connections.models import AwsConnection
    from portal.sync import SyncStatus

    connection = AwsConnection.objects.get(is_default=True)
    usage_plan = {(c.plan_id, c.region): c.aws_id for c in PlanCopy.objects.all()}
    plan_of = {c.pk: plans[i % 3].pk for i, c in enumerate(customers)}
    rows = []
    for i in range(n):
        customer = customers[i % len(customers)]
        rows.append((customer, uuid.uuid4(), f"key {i}", f"v{uuid.uuid4().hex}{i:06d}"))
    ids: dict[str, dict[str, str]] = {}
    for region in REGIONS:
        apigw = client(region)
        for start in range(0, n, 1000):
            lines = ["Name,Key,Description,Enabled,UsagePlanIds"]
            for customer, public_id, name, value in rows[start : start + 1000]:
                lines.append(
                    f"tollgate-{public_id},{value},{customer.name}: {name},true,"
                    f"{usage_plan[(plan_of[customer.pk], region)]}"
                )
            apigw.import_api_keys(body="\n".join(lines).encode(), format="csv", failOnWarnings=True)
        pages = apigw.get_paginator("get_api_keys").paginate(PaginationConfig={"PageSize": 500})
        ids[region] = {item["name"]: item["id"] for page in pages for item in page["items"]}
    now = timezone.now()
    keys = ApiKey.objects.bulk_create(
        [
            ApiKey(
                customer=customer,
                public_id=public_id,
                name=name,
                aws_id=ids[REGIONS[0]][f"tollgate-{public_id}"],
                desired_version=1,
                synced_version=1,
                sync_status=SyncStatus.SYNCED,
                synced_at=now,
            )
            for customer, public_id, name, _ in rows
        ],
        batch_size=1000,
    )
    KeyCopy.objects.bulk_create(
        [
            KeyCopy(
                key=key,
                connection=connection,
                region=region,
                aws_id=ids[region][f"tollgate-{key.public_id}"],
                synced_version=1,
                synced_at=now,
            )
            for key in keys
            for region in REGIONS
        ],
        batch_size=1000,
    )


def main() -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from keys.models import ApiKey
    from portal.reconcile.models import ReconcileRun
    from portal.reconcile.services import reconcile

    for n in SIZES:
        with world() as (control, drain):
            plans, customers = two_region_tiers(30, drain)
            t = time.monotonic()
            populate(n, customers, plans)
            print(
                f"N={n}: set-up (ImportApiKeys in 2 regions + bulk_create) {time.monotonic() - t:.1f}s"
            )
            control.clear_calls()
            written = RowsWritten()
            t = time.monotonic()
            with CaptureQueriesContext(connection) as queries, connection.execute_wrapper(written):
                report = reconcile()
            seconds = time.monotonic() - t
            journal = control.calls()
            summary = report.summary()
            assert ApiKey.objects.count() == n
            db_writes = sum(
                1
                for q in queries
                if q["sql"].lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))
            )
            print(
                f"N={n}: reconcile {seconds:.2f}s (AWS-side time "
                f"{sum(c['duration'] for c in journal):.2f}s); in_sync={summary['in_sync']} "
                f"drifted={summary['drifted']} resync={summary['resync']} "
                f"removed={summary['removed']}; {len(queries)} database queries, "
                f"{db_writes} write statements, rows written: "
                + (", ".join(f"{t} {k}" for t, k in sorted(written.rows.items())) or "none")
            )
            places = ReconcileRun.objects.get().places
            for region in REGIONS:
                calls = Counter(c["operation"] for c in journal if c.get("region") == region)
                writes = sum(k for op, k in calls.items() if op.startswith(AWS_WRITES))
                figures = places[region]
                total = sum(calls.values())
                least = minimum_reads(region)
                print(
                    f"  {region}: {total} AWS calls ("
                    + ", ".join(f"{op} {k}" for op, k in sorted(calls.items()))
                    + f"; the run counted {figures['calls']}; minimum {least}), "
                    f"{total / READ_BUDGET:.1f}s of the read budget ({READ_BUDGET:g} req/s), "
                    f"{figures['in_sync']} copies in sync, {figures['drifted']} drifted, "
                    f"{figures['missing']} missing, {writes} AWS writes"
                    + (f", error: {figures['error']}" if figures["error"] else "")
                )


if __name__ == "__main__":
    main()
