"""Shared set-up for the sync benchmarks: a local AWS, a throwaway test database, tasks captured.

Import this first (it configures Django). `world()` returns the local AWS control and a `drain`
function that runs every captured sync task synchronously (portal.sync.converge), in order.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
for _name, _value in {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}.items():
    os.environ.setdefault(_name, _value)
os.environ.pop("AWS_PROFILE", None)
os.environ.pop("DATABASE_URL", None)  # always a throwaway SQLite database under TOLLGATE_VAR_DIR

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402

from localaws.testing import LocalAwsControl, start_local_aws  # noqa: E402

# Budgets out of the way: these benchmarks count calls; bench/onboarding.py does the time maths.
FAST = {
    "all": {"rate": 1e6, "burst": 10**6},
    "CreateApiKey": None,
    "DeleteApiKey": None,
    "UpdateUsagePlan": None,
}


@contextmanager
def world() -> Iterator[tuple[LocalAwsControl, Callable[[], int]]]:
    server = start_local_aws()
    os.environ["AWS_ENDPOINT_URL"] = server.endpoint_url
    from django.test import utils

    if getattr(utils, "_TestState", None) is None or not hasattr(utils._TestState, "saved_data"):
        setup_test_environment()
    old_name = connection.creation.create_test_db(verbosity=0)
    settings.TOLLGATE["AWS_RATE_LIMITS"] = FAST
    from keys.models import ApiKey
    from keys.sync import push_key
    from keys.tasks import sync_key
    from plans.models import Plan
    from plans.sync import push_plan
    from plans.tasks import sync_plan
    from portal.aws.clients import reset_clients
    from portal.aws.limiter import set_limiter
    from portal.sync import converge

    set_limiter(None)
    reset_clients()
    queue: list[tuple[Any, int, Any]] = []
    # Services send tasks with apply_async((pk,), ...); run them here, in order, instead.
    tasks: Any = (sync_key, sync_plan)
    tasks[0].apply_async = lambda args, **kw: queue.append((ApiKey, args[0], push_key))
    tasks[1].apply_async = lambda args, **kw: queue.append((Plan, args[0], push_plan))

    # ...and by name (portal.sync.send_task), as the services do now.
    from keys import rotation
    from portal import sync as sync_engine

    by_name: dict[str, tuple[Any, Any]] = {
        "keys.tasks.sync_key": (ApiKey, rotation.push_key_keeping_quota),
        "plans.tasks.sync_plan": (Plan, push_plan),
        "keys.tasks.advance_rotation": (None, rotation.advance),
    }

    def send_by_name(name: str, *args: Any) -> None:
        if name in by_name:
            queue.append((by_name[name][0], args[0], by_name[name][1]))

    sync_engine.send_task = send_by_name

    def drain() -> int:
        n = 0
        while queue:
            model, pk, push = queue.pop(0)
            if model is None:
                push(pk)
            else:
                converge(model, pk, push, attempt=0)
                if model is ApiKey:
                    rotation.after_key_sync(pk)
            n += 1
        return n

    try:
        yield LocalAwsControl(server.endpoint_url), drain
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
        server.stop()


def live_stage() -> Any:
    import boto3

    from localaws.demo_api import ensure_demo_api
    from plans.models import ApiStage
    from plans.stages import stage_set_available, stages_discover

    apigw = boto3.client(
        "apigateway", region_name="us-east-1", endpoint_url=os.environ["AWS_ENDPOINT_URL"]
    )
    api_id, stage_name = ensure_demo_api(apigw)
    stages_discover()
    stage = ApiStage.objects.get(rest_api_id=api_id, stage_name=stage_name)
    return stage_set_available(actor=None, stage=stage, available=True)


def tiers_and_customers(count: int, drain: Callable[[], int]) -> tuple[list[Any], list[Any]]:
    """Free, Premium and Enterprise on the demo stage, synced, and `count` customers spread
    over them in turn (through the services, as the pages would)."""
    from plans.services import plan_create, subscription_switch
    from portal.customers.services import customer_onboard
    from tests.conftest import ENTERPRISE, FREE, PREMIUM, make_user

    stage = live_stage()
    plans = [
        plan_create(actor=None, data=dict(s), stages=[stage]) for s in (FREE, PREMIUM, ENTERPRISE)
    ]
    drain()
    for plan in plans:
        plan.refresh_from_db()
    customers = []
    for i in range(count):
        customer = customer_onboard(
            owner=make_user(f"o{i}@c{i}.test"), organisation_name=f"Customer {i}"
        )
        if i % 3:
            subscription_switch(actor=None, customer=customer, plan=plans[i % 3], by_staff=True)
        customers.append(customer)
    drain()
    return plans, customers
