"""Under 30% injected AWS faults, random changes end with AWS exactly equal to the database.

Faults (each about a quarter of the 30%): 429 TooManyRequests, 500, 500 *after* AWS applied the
write, and a timeout (the answer comes after the client's read timeout; AWS applies the write
late, after the client gave up). Every AWS call can fail this way, reads included.

Reproduce a run with TOLLGATE_RESILIENCE_SEED=<seed printed by the test>.
"""

from __future__ import annotations

import os
import random
import time
from decimal import Decimal
from typing import Any

import pytest

from keys.models import ApiKey
from keys.services import key_create, key_rename, key_revoke, key_set_enabled
from localaws.testing import LocalAwsControl
from plans.models import Plan
from plans.selectors import active_subscription
from plans.services import plan_update, subscription_switch
from portal.reconcile.services import reconcile
from tests.resilience.conftest import SHORT_READ_TIMEOUT, make_customers
from tests.resilience.helpers import (
    assert_aws_equals_db,
    differences,
    read_aws,
    status_counts,
    wait_worker_idle,
)

pytestmark = pytest.mark.integration

OPERATIONS = 200
FAULT_SHARE = 0.30
# After the operations, faults stay on while the worker converges, for at most this long.
FAULT_WINDOW_SECONDS = 45.0


def add_faults(control: LocalAwsControl, total: float) -> None:
    """Four rules sharing `total`; localaws tries rules in order, each with its own share, so
    the k-th rule's share is scaled up to give each kind total/4 of all calls."""
    kinds: list[dict[str, Any]] = [
        {"status": 429},
        {"status": 500},
        {"status": 500, "after_apply": True},
        # No error status: answered normally but too late; the write lands after the client
        # gave up with a ReadTimeoutError.
        {"status": None, "delay_seconds": SHORT_READ_TIMEOUT * 3},
    ]
    each = total / len(kinds)
    remaining = 1.0
    for kind in kinds:
        control.add_fault("*", share=min(1.0, each / remaining), times=None, **kind)
        remaining -= each


def test_random_changes_under_faults_converge(
    three_tiers: dict[str, Plan],
    control: LocalAwsControl,
    apigw: Any,
    settle: Any,
    fast_budgets: None,
    short_read_timeout: float,
) -> None:
    seed = int(os.environ.get("TOLLGATE_RESILIENCE_SEED") or random.SystemRandom().randrange(10**9))
    print(f"\nTOLLGATE_RESILIENCE_SEED={seed}")
    rng = random.Random(seed)
    started = time.monotonic()

    customers = make_customers(6)
    settle()
    tiers = list(Plan.objects.live().order_by("pk"))

    control.clear_calls()
    add_faults(control, FAULT_SHARE)
    faults_on = time.monotonic()

    counts: dict[str, int] = {}
    for _ in range(OPERATIONS):
        live = list(ApiKey.objects.live().order_by("pk"))
        op = rng.choices(
            ["create", "rename", "toggle", "revoke", "switch", "edit_tier"],
            weights=[30, 15, 15, 10, 15, 15],
        )[0]
        if op != "create" and op not in ("switch", "edit_tier") and not live:
            op = "create"
        if op == "create":
            customer = rng.choice(customers)
            key_create(actor=None, customer=customer, name=f"k{rng.randrange(10**9)}")
        elif op == "rename":
            key_rename(actor=None, key=rng.choice(live), name=f"r{rng.randrange(10**9)}")
        elif op == "toggle":
            key = rng.choice(live)
            key_set_enabled(actor=None, key=key, enabled=not key.enabled)
        elif op == "revoke":
            key_revoke(actor=None, key=rng.choice(live))
        elif op == "switch":
            customer = rng.choice(customers)
            current = active_subscription(customer)
            choices = [t for t in tiers if current is None or t.pk != current.plan_id]
            subscription_switch(
                actor=None, customer=customer, plan=rng.choice(choices), by_staff=True
            )
        else:
            plan = rng.choice(tiers)
            rate = rng.randrange(1, 200)
            limit = rng.randrange(1_000, 1_000_000)
            plan_update(
                actor=None,
                plan=plan,
                data={
                    "throttle_rate": Decimal(rate),
                    "throttle_burst": rate * rng.randrange(1, 5),
                    "quota_limit": limit,
                    "quota_period": rng.choice(["DAY", "WEEK", "MONTH"]),
                    "quota_offset": 0,
                },
                stages=list(plan.stages.all()),
            )
        counts[op] = counts.get(op, 0) + 1
        time.sleep(rng.uniform(0, 0.05))
    print(f"operations: {counts} in {time.monotonic() - faults_on:.1f}s")

    try:
        settle(timeout=FAULT_WINDOW_SECONDS)
        print(f"settled under faults after {time.monotonic() - faults_on:.1f}s")
    except AssertionError:
        print(f"still pending after {FAULT_WINDOW_SECONDS}s of faults: {status_counts()}")
    control.clear_faults()
    journal = control.calls()
    by_op: dict[str, int] = {}
    for c in journal:
        by_op[c["operation"]] = by_op.get(c["operation"], 0) + 1
    print(
        f"by operation: {by_op}; mean duration {sum(c['duration'] for c in journal) / max(1, len(journal)):.3f}s"
    )
    faulted = [c for c in journal if c["fault_id"] is not None]
    print(
        f"AWS calls under faults: {len(journal)}, faulted: {len(faulted)} "
        f"({len(faulted) / max(1, len(journal)):.0%})"
    )

    settle(timeout=120)
    before = differences(apigw)
    print(
        f"settled {time.monotonic() - faults_on:.1f}s after faults on; before reconcile: {status_counts()}"
    )
    print(f"duplicates before reconcile: {read_aws(apigw).duplicates()}")
    for line in before:
        print(f"  differs: {line}")

    report = reconcile()
    print(f"reconcile: {report.summary()}")
    for line in report.lines():
        print(f"  {line}")
    settle(timeout=60)

    assert_aws_equals_db(apigw)
    assert read_aws(apigw).duplicates() == {}
    print(f"AWS calls in all: {len(control.calls())}")
    wait_worker_idle()
    print(f"total {time.monotonic() - started:.1f}s")
