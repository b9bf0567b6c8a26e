"""CloudWatch calls and database queries per view of the ops metrics page (/console/metrics/).

Starts an in-process local AWS and a throwaway test database, creates the demo's tiers and ten
keys (Celery tasks run eagerly), runs the traffic simulator for 30 days, then prints:

* how long the simulator took and what it did;
* GetMetricData calls (from the local AWS's call journal) for 1 viewer and for 20 viewers
  opening the page one after the other within the 60-second cache window, per range, and how
  long the first (uncached) view of each range took against the local CloudWatch;
* database queries per page with 10 and with 10,000 customers (UsageDay rows by bulk_create).

    .venv/bin/python bench/metrics_calls.py
"""

from __future__ import annotations

import os
import sys
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
for _name, _value in {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}.items():
    os.environ.setdefault(_name, _value)
os.environ.pop("AWS_PROFILE", None)

import django  # noqa: E402

django.setup()

from django.core.cache import cache  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext, setup_test_environment  # noqa: E402
from django.utils import timezone  # noqa: E402

from localaws.testing import LocalAwsControl, start_local_aws  # noqa: E402

URL = "/console/metrics/"


def main() -> None:
    server = start_local_aws()
    os.environ["AWS_ENDPOINT_URL"] = server.endpoint_url
    setup_test_environment()
    old_name = connection.creation.create_test_db(verbosity=0)
    try:
        run(LocalAwsControl(server.endpoint_url))
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
        server.stop()


def run(control: LocalAwsControl) -> None:
    import boto3

    from demo.simulator import simulate
    from keys.services import key_create
    from localaws.demo_api import ensure_demo_api
    from plans.models import ApiStage
    from plans.services import plan_create, subscription_switch
    from plans.stages import stage_set_available, stages_discover
    from portal.accounts.models import StaffRole, User
    from portal.aws.clients import reset_clients
    from portal.celery import app
    from portal.customers.services import customer_onboard
    from portal.usage.metrics import RANGES
    from tests.conftest import make_user
    from tests.fixtures.traffic import bulk_customers_with_usage

    app.conf.task_always_eager = True
    reset_clients()
    ensure_demo_api(boto3.client("apigateway", endpoint_url=control.endpoint_url))
    stages_discover()
    stage = ApiStage.objects.get()
    stage_set_available(actor=None, stage=stage, available=True)
    base = {"description": "", "throttle_burst": 100, "quota_offset": 0, "monthly_price": None}
    tiers = {
        name: plan_create(
            actor=None,
            data={**base, "name": name, "self_serve": True, "is_default": name == "Free",
                  "throttle_rate": Decimal(rate), "quota_limit": quota, "quota_period": period},
            stages=[stage],
        )
        for name, rate, quota, period in (
            ("Free", "2", 1000, "DAY"),
            ("Premium", "50", 100_000, "MONTH"),
            ("Enterprise", "500", 5_000_000, "MONTH"),
        )
    }  # fmt: skip
    for n in range(10):
        owner = make_user(f"owner{n}@bench.test")  # with a confirmed address, as key_create asks
        customer = customer_onboard(owner=owner, organisation_name=f"Customer {n}")
        tier = ("Free", "Premium", "Enterprise")[n % 3]
        if tier != "Free":
            subscription_switch(actor=None, customer=customer, plan=tiers[tier], by_staff=True)
        key_create(actor=owner, customer=customer, name="main")

    started = time.monotonic()
    result = simulate(days=30, seed=1)
    seconds = time.monotonic() - started
    points = sum(len(p) for p in result.published.values())
    print(f"simulate_traffic --days 30: {seconds:.1f} s for {result.keys} keys")
    print(
        f"  {result.requests:,} requests, {result.throttled:,} 429s, {result.errors_5xx:,} 5XX; "
        f"{result.usage_calls} usage call(s), {result.metric_calls} PutMetricData calls "
        f"({points} stage-periods)"
    )

    ops = User.objects.create_user(email="ops@bench.test", password="x", staff_role=StaffRole.OPS)
    print("\nGetMetricData calls per range (cold cache), and time of the uncached view:")
    print(f"  {'range':<6} {'1 viewer':>9} {'20 viewers':>11} {'first view':>11} {'cached':>8}")
    for key in RANGES:
        cache.clear()
        control.clear_calls()
        clients = [Client() for _ in range(20)]
        for client in clients:
            client.force_login(ops)
        t0 = time.monotonic()
        assert clients[0].get(URL, {"range": key}).status_code == 200
        first = time.monotonic() - t0
        one = len(control.calls("GetMetricData"))
        t0 = time.monotonic()
        for client in clients[1:]:
            assert client.get(URL, {"range": key}).status_code == 200
        cached = (time.monotonic() - t0) / 19
        twenty = len(control.calls("GetMetricData"))
        print(f"  {key:<6} {one:>9} {twenty:>11} {first:>10.2f}s {cached * 1000:>6.0f}ms")

    client = Client()
    client.force_login(ops)
    today = timezone.now().date()
    print("\nDatabase queries per ops page (CloudWatch answer cached):")
    for size, prefix in ((10, "Ten"), (9_990, "Many")):
        bulk_customers_with_usage(size, tiers["Premium"], today, prefix=prefix)
        client.get(URL)
        with CaptureQueriesContext(connection) as queries:
            t0 = time.monotonic()
            assert client.get(URL).status_code == 200
            elapsed = time.monotonic() - t0
        total = 10 + (size if prefix == "Many" else 10)
        print(f"  {total:>6,} customers: {len(queries)} queries, {elapsed * 1000:.0f} ms")


if __name__ == "__main__":
    main()
