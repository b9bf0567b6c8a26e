"""Each change costs the AWS calls API Gateway needs and no more: a copy remembers what the last
sync made AWS hold (AwsCopy.pushed), and AWS is read again only when that may be stale."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from keys.models import ApiKey, KeyCopy
from keys.services import key_create, key_rename, key_set_enabled
from plans.models import Plan
from plans.services import subscription_switch
from portal.accounts.models import User
from portal.customers.models import Customer
from portal.reconcile.drift import drift_push_ours
from portal.reconcile.services import reconcile
from portal.sync import SyncStatus

pytestmark = pytest.mark.integration


def calls(control: Any) -> Counter[str]:
    return Counter(str(call["operation"]) for call in control.calls())


@pytest.fixture
def synced_key(owner: User, initech: Customer, settle: Any, control: Any) -> ApiKey:
    key = key_create(actor=owner, customer=initech, name="production")
    settle()
    key.refresh_from_db()
    assert key.sync_status == SyncStatus.SYNCED
    return key


def test_a_new_key_is_one_create_and_one_join(
    owner: User, initech: Customer, settle: Any, control: Any
) -> None:
    control.clear_calls()
    key_create(actor=owner, customer=initech, name="production")
    settle()
    assert calls(control) == {"CreateApiKey": 1, "CreateUsagePlanKey": 1}


def test_a_rename_or_a_pause_is_one_update(
    owner: User, synced_key: ApiKey, settle: Any, control: Any
) -> None:
    control.clear_calls()
    key_rename(actor=owner, key=synced_key, name="prod")
    settle()
    assert calls(control) == {"UpdateApiKey": 1}

    control.clear_calls()
    key_set_enabled(actor=owner, key=ApiKey.objects.get(pk=synced_key.pk), enabled=False)
    settle()
    assert calls(control) == {"UpdateApiKey": 1}


def test_a_tier_switch_is_one_leave_and_one_join_per_key(
    owner: User,
    initech: Customer,
    synced_key: ApiKey,
    live_tiers: dict[str, Plan],
    settle: Any,
    control: Any,
    apigw: Any,
) -> None:
    control.clear_calls()
    subscription_switch(actor=owner, customer=initech, plan=live_tiers["Premium"])
    settle()
    assert calls(control) == {"DeleteUsagePlanKey": 1, "CreateUsagePlanKey": 1}
    members = apigw.get_usage_plan_keys(usagePlanId=live_tiers["Premium"].aws_id)["items"]
    assert [m["id"] for m in members] == [ApiKey.objects.get(pk=synced_key.pk).aws_id]


def test_after_a_change_in_aws_the_settled_drift_makes_the_next_sync_read_first(
    owner: User, admin: User, synced_key: ApiKey, settle: Any, control: Any, apigw: Any
) -> None:
    # Someone removes the key from its usage plan in the AWS console: Tollgate's memory of
    # the copy is stale, and only a read can tell.
    plan_id = KeyCopy.objects.get(key=synced_key).pushed["usage_plan"]  # type: ignore[index]
    apigw.delete_usage_plan_key(usagePlanId=plan_id, keyId=synced_key.aws_id)
    reconcile()
    key = ApiKey.objects.get(pk=synced_key.pk)
    assert key.sync_status == SyncStatus.DRIFTED
    control.clear_calls()
    drift_push_ours(actor=admin, obj=key)
    settle()
    assert calls(control) == {"GetApiKey": 1, "GetUsagePlans": 1, "CreateUsagePlanKey": 1}
    assert KeyCopy.objects.get(key=synced_key).pushed is not None  # read, pushed, recorded
    members = apigw.get_usage_plan_keys(usagePlanId=plan_id)["items"]
    assert [m["id"] for m in members] == [synced_key.aws_id]
    assert ApiKey.objects.get(pk=synced_key.pk).sync_status == SyncStatus.SYNCED
