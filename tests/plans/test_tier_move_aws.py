"""A bulk tier move end to end: the worker runs the move, the key syncs take every key out of
Free's usage plan and into Free 2027's in the local AWS, two calls a key, and nothing else."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from keys.models import ApiKey
from keys.services import key_create
from plans.models import Plan, Subscription, TierMove
from plans.moves import tier_move_start
from plans.services import plan_create
from portal.accounts.models import User
from portal.audit.models import AuditEvent
from portal.customers.models import Customer
from portal.customers.services import customer_onboard
from portal.sync import SyncStatus
from tests.conftest import FREE, make_user, wait_until

pytestmark = pytest.mark.integration


def plan_key_ids(apigw: Any, plan: Plan) -> set[str]:
    return {item["id"] for item in apigw.get_usage_plan_keys(usagePlanId=plan.aws_id)["items"]}


def test_every_customer_and_key_lands_on_the_new_tier(
    admin: User,
    owner: User,
    initech: Customer,
    live_tiers: dict[str, Plan],
    live_stage: Any,
    apigw: Any,
    control: Any,
    settle: Any,
) -> None:
    customers = [initech]
    for n in range(4):
        customers.append(
            customer_onboard(owner=make_user(f"m{n}@move.test"), organisation_name=f"Mover {n}")
        )
    for customer in customers:
        for name in ("production", "staging"):
            key_create(actor=None, customer=customer, name=name)
    newer = plan_create(
        actor=None, data={**FREE, "name": "Free 2027", "is_default": False}, stages=[live_stage]
    )
    settle()
    newer.refresh_from_db()
    free = live_tiers["Free"]
    control.clear_calls()

    move = tier_move_start(actor=admin, from_plan=free, to_plan=newer)
    wait_until(lambda: TierMove.objects.get(pk=move.pk).status == "done", 60, "the move to finish")

    # The minimum API Gateway allows: leave one usage plan, join the other, per key.
    calls = Counter(str(call["operation"]) for call in control.calls())
    assert calls == {"DeleteUsagePlanKey": 10, "CreateUsagePlanKey": 10}
    move.refresh_from_db()
    assert (move.customers_moved, move.customers_refused, move.customers_failed) == (5, 0, 0)
    assert (move.keys_total, move.keys_moved, move.keys_waiting) == (10, 10, 0)
    assert {
        s.plan_id for s in Subscription.objects.filter(customer__in=customers, status="active")
    } == {newer.pk}
    assert AuditEvent.objects.filter(action="subscription.started", actor=admin).count() == 5
    aws_ids = set(ApiKey.objects.values_list("aws_id", flat=True))
    assert plan_key_ids(apigw, newer) == aws_ids
    assert plan_key_ids(apigw, free) == set()
    assert set(ApiKey.objects.values_list("sync_status", flat=True)) == {SyncStatus.SYNCED}
