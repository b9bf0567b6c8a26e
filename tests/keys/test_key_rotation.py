"""Rolling a key (keys/rotation.py) against the local AWS over HTTP: the overlap, the quota that
travels with the customer, faults, and the refusals that change nothing."""

from __future__ import annotations

import datetime
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from keys.models import ApiKey, RevokeReason
from keys.rotation import GRACES, advance, key_rotate, retire_rotated_keys, successor_of
from keys.services import key_create, key_revoke
from localaws.testing import LocalAwsControl
from plans.models import Plan
from portal.accounts.models import User
from portal.audit.models import AuditEvent
from portal.customers.models import Customer, Membership, MembershipRole
from portal.errors import NotAllowed, NotReady, Refused
from portal.sync import SyncStatus
from tests.conftest import make_user, wait_until

pytestmark = pytest.mark.integration


def today() -> str:
    return datetime.datetime.now(datetime.UTC).date().isoformat()


def plan_keys(apigw: Any, plan: Plan) -> set[str]:
    return {item["id"] for item in apigw.get_usage_plan_keys(usagePlanId=plan.aws_id)["items"]}


def remaining(apigw: Any, plan: Plan, key_aws_id: str) -> int:
    day = today()
    usage = apigw.get_usage(usagePlanId=plan.aws_id, keyId=key_aws_id, startDate=day, endDate=day)
    return int(usage["items"][key_aws_id][-1][1])


def state_of(key: ApiKey) -> dict[str, Any]:
    key.refresh_from_db()
    return key.rotation_state


def carried(key: ApiKey) -> bool:
    return "applied_at" in state_of(key).get("carry", {})


def done(key: ApiKey) -> bool:
    return "done" in state_of(key)


def end_grace(old: ApiKey) -> None:
    """The clock moves past the grace period (the beat job is called with the real now)."""
    ApiKey.objects.filter(pk=old.pk).update(grace_ends_at=timezone.now() - timedelta(seconds=1))


def test_a_rolled_key_overlaps_then_only_the_new_one_is_left_with_one_quota(
    owner: User,
    initech: Customer,
    live_tiers: dict[str, Plan],
    apigw: Any,
    control: LocalAwsControl,
    settle: Any,
) -> None:
    free = live_tiers["Free"]  # 1,000 requests a day
    old = key_create(actor=owner, customer=initech, name="production")
    settle()
    old.refresh_from_db()
    control.set_usage(free.aws_id, old.aws_id, today(), 300)

    new = key_rotate(actor=owner, key=old, grace=GRACES["1h"])
    settle()
    wait_until(lambda: carried(new), what="the quota carried over")
    new.refresh_from_db()
    old.refresh_from_db()

    # During the grace period both keys are enabled and in the plan.
    assert new.rotated_from == old and new.created_by == owner
    assert new.name == f"production (rotated {timezone.now():%Y-%m-%d})"
    assert plan_keys(apigw, free) == {old.aws_id, new.aws_id}
    assert apigw.get_api_key(apiKey=old.aws_id)["enabled"] is True
    assert apigw.get_api_key(apiKey=new.aws_id)["enabled"] is True
    assert old.grace_ends_at is not None and old.grace_ends_at > timezone.now()
    # The new key continues with what the old one had left, not a fresh 1,000.
    assert remaining(apigw, free, new.aws_id) == 700
    assert new.rotation_state["carry"]["old_remaining"] == 700

    # Before the grace period ends, the beat job retires nothing.
    assert retire_rotated_keys() == 0
    # Both are used during the overlap: the old one 50 more, the new one 20.
    control.set_usage(free.aws_id, old.aws_id, today(), 350)
    control.set_usage(free.aws_id, new.aws_id, today(), 20)
    assert remaining(apigw, free, new.aws_id) == 680

    end_grace(old)
    assert retire_rotated_keys() == 1
    assert retire_rotated_keys() == 0  # idempotent
    settle()
    wait_until(lambda: done(new), what="the overlap settled")

    old.refresh_from_db()
    assert old.revoked_reason == RevokeReason.ROTATED and old.sync_status == SyncStatus.SYNCED
    assert plan_keys(apigw, free) == {new.aws_id}
    assert old.aws_id not in {k["id"] for k in apigw.get_api_keys()["items"]}
    # 1,000 - 350 (old) - 20 (new): old + new never exceed one quota.
    assert remaining(apigw, free, new.aws_id) == 630
    actions = list(
        AuditEvent.objects.filter(target_type="keys.apikey", target_id=str(old.pk))
        .order_by("pk")
        .values_list("action", flat=True)
    )
    assert actions[-2:] == ["key.rotated", "key.revoked"], actions

    # A retried quota step changes nothing any more.
    assert advance(new.pk) == "nothing"
    assert remaining(apigw, free, new.aws_id) == 630


def test_no_grace_retires_the_old_key_at_once_and_still_carries_its_quota(
    owner: User,
    initech: Customer,
    live_tiers: dict[str, Plan],
    apigw: Any,
    control: LocalAwsControl,
    settle: Any,
) -> None:
    free = live_tiers["Free"]
    old = key_create(actor=owner, customer=initech, name="ci")
    settle()
    old.refresh_from_db()
    control.set_usage(free.aws_id, old.aws_id, today(), 400)

    new = key_rotate(actor=owner, key=old, grace=GRACES["none"])
    old.refresh_from_db()
    assert old.revoked_reason == RevokeReason.ROTATED
    settle()
    wait_until(lambda: done(new), what="the quota moved")

    assert plan_keys(apigw, free) == {new.aws_id}
    assert remaining(apigw, free, new.aws_id) == 600
    assert "carry" not in new.rotation_state  # the final reading was the only one needed


def test_faults_lose_no_quota_apply_nothing_twice_and_keep_the_grace_period(
    owner: User,
    initech: Customer,
    live_tiers: dict[str, Plan],
    apigw: Any,
    control: LocalAwsControl,
    settle: Any,
) -> None:
    free = live_tiers["Free"]
    old = key_create(actor=owner, customer=initech, name="production")
    settle()
    old.refresh_from_db()
    control.set_usage(free.aws_id, old.aws_id, today(), 100)
    # Every quota call fails once; UpdateUsage even after AWS applied it, twice.
    control.add_fault("GetUsage", status=500, times=2)
    control.add_fault("UpdateUsage", status=500, after_apply=True, times=2)
    control.add_fault("CreateUsagePlanKey", status=429, times=1)

    new = key_rotate(actor=owner, key=old, grace=GRACES["24h"])
    settle(60)
    wait_until(lambda: carried(new), timeout=60, what="the quota carried over despite faults")
    control.set_usage(free.aws_id, new.aws_id, today(), 10)
    assert remaining(apigw, free, new.aws_id) == 890  # 1,000 - 100 - 10: once, not twice

    # Not retired early, however often the beat job runs.
    for _ in range(3):
        assert retire_rotated_keys() == 0
    old.refresh_from_db()
    assert not old.is_revoked
    assert plan_keys(apigw, free) == {old.aws_id, new.aws_id}

    control.set_usage(free.aws_id, old.aws_id, today(), 130)  # 30 more during the overlap
    control.add_fault("GetUsage", status=503, times=2)
    control.add_fault("DeleteApiKey", status=500, after_apply=True, times=1)
    control.add_fault("UpdateUsage", status=429, times=1)
    end_grace(old)
    assert retire_rotated_keys() == 1
    settle(60)
    wait_until(lambda: done(new), timeout=60, what="the overlap settled despite faults")

    # Only the new key is left, with 1,000 - 130 - 10.
    assert plan_keys(apigw, free) == {new.aws_id}
    live = [k["id"] for k in apigw.get_api_keys()["items"]]
    assert old.aws_id not in live and new.aws_id in live
    assert remaining(apigw, free, new.aws_id) == 860
    assert ApiKey.objects.live().filter(customer=initech).count() == 1


# --- refusals change nothing (no AWS needed) ----------------------------------------------------


@pytest.fixture
def rotation_world(alice: User, acme: Customer, sent_tasks: list[Any]) -> dict[str, Any]:
    maria = make_user("maria@acme.test")
    Membership.objects.create(user=maria, customer=acme, role=MembershipRole.MEMBER)
    key = key_create(actor=alice, customer=acme, name="production")
    return {"alice": alice, "maria": maria, "key": key, "acme": acme}


def snapshot() -> tuple[Any, ...]:
    return (
        list(ApiKey.objects.order_by("pk").values_list("pk", "revoked_at", "grace_ends_at")),
        AuditEvent.objects.count(),
    )


@pytest.mark.django_db
def test_refusals_change_nothing(rotation_world: dict[str, Any]) -> None:
    alice, maria, key = rotation_world["alice"], rotation_world["maria"], rotation_world["key"]
    before = snapshot()
    with pytest.raises(NotAllowed):
        key_rotate(actor=maria, key=key, grace=GRACES["1h"])  # someone else's key
    with pytest.raises(Refused, match="grace period"):
        key_rotate(actor=alice, key=key, grace=timedelta(hours=2))
    assert snapshot() == before

    new = key_rotate(actor=alice, key=key, grace=GRACES["7d"])
    before = snapshot()
    with pytest.raises(NotReady, match="being rolled"):
        key_rotate(actor=alice, key=key, grace=GRACES["1h"])  # twice
    with pytest.raises(NotReady, match="still works"):
        key_rotate(actor=alice, key=new, grace=GRACES["1h"])  # the successor, meanwhile
    assert snapshot() == before

    key_revoke(actor=alice, key=new)
    other = key_create(actor=alice, customer=rotation_world["acme"], name="other")
    key_revoke(actor=alice, key=other)
    before = snapshot()
    with pytest.raises(NotReady, match="revoked"):
        key_rotate(actor=alice, key=other, grace=GRACES["1h"])
    assert snapshot() == before
    assert successor_of(key) == new
