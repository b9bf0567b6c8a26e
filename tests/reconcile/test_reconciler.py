"""The reconciler against the local AWS: read-only when in sync, drift shown and settled both ways."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from django.core.management import call_command

from keys.models import ApiKey
from keys.services import key_create
from localaws.testing import LocalAwsControl
from plans.models import Plan
from portal.accounts.models import User
from portal.customers.models import Customer
from portal.customers.services import customer_onboard
from portal.reconcile.drift import drift_accept_aws, drift_push_ours
from portal.reconcile.models import ReconcileRun
from portal.reconcile.services import reconcile
from portal.sync import SyncStatus
from tests.conftest import make_user

pytestmark = pytest.mark.integration

WRITES = {
    "CreateUsagePlan",
    "UpdateUsagePlan",
    "DeleteUsagePlan",
    "CreateApiKey",
    "UpdateApiKey",
    "DeleteApiKey",
    "CreateUsagePlanKey",
    "DeleteUsagePlanKey",
}


@pytest.fixture
def synced_world(live_tiers: dict[str, Plan], settle: Any) -> dict[str, Any]:
    owner = make_user("dana@initech.test")
    customer = customer_onboard(owner=owner, organisation_name="Initech")
    keys = [key_create(actor=owner, customer=customer, name=f"key {n}") for n in range(3)]
    settle()
    for key in keys:
        key.refresh_from_db()
    return {"owner": owner, "customer": customer, "keys": keys, "tiers": live_tiers}


def operations(control: LocalAwsControl) -> Counter[str]:
    return Counter(call["operation"] for call in control.calls())


def test_in_sync_it_only_reads(synced_world: dict[str, Any], control: LocalAwsControl) -> None:
    control.clear_calls()
    report = reconcile()

    assert report.drifted == [] and report.resync == [] and report.removed == []
    assert report.in_sync == 2 + 3
    calls = operations(control)
    assert not set(calls) & WRITES
    # One page of usage plans, one of keys, one page of keys per tier.
    assert calls == Counter({"GetUsagePlans": 1, "GetApiKeys": 1, "GetUsagePlanKeys": 2})
    key = ApiKey.objects.get(pk=synced_world["keys"][0].pk)
    assert key.synced_at is not None and key.sync_status == SyncStatus.SYNCED


def test_a_throttle_changed_in_aws_is_drift_settled_by_pushing_ours(
    synced_world: dict[str, Any], apigw: Any, settle: Any
) -> None:
    premium = synced_world["tiers"]["Premium"]
    apigw.update_usage_plan(
        usagePlanId=premium.aws_id,
        patchOperations=[{"op": "replace", "path": "/throttle/rateLimit", "value": "999"}],
    )
    reconcile()
    premium.refresh_from_db()
    assert premium.sync_status == SyncStatus.DRIFTED
    assert premium.drift is not None
    assert premium.drift["differences"] == [
        {
            "field": "throttle",
            "ours": "50 req/s, burst 100",
            "aws": "999 req/s, burst 100",
            "where": "us-east-1",
        }
    ]

    drift_push_ours(actor=None, obj=premium)
    settle()
    premium.refresh_from_db()
    assert premium.sync_status == SyncStatus.SYNCED and premium.drift is None
    assert apigw.get_usage_plan(usagePlanId=premium.aws_id)["throttle"]["rateLimit"] == 50.0


def test_a_quota_changed_in_aws_can_be_accepted(
    synced_world: dict[str, Any], apigw: Any, control: LocalAwsControl
) -> None:
    free = synced_world["tiers"]["Free"]
    apigw.update_usage_plan(
        usagePlanId=free.aws_id,
        patchOperations=[{"op": "replace", "path": "/quota/limit", "value": "2500"}],
    )
    reconcile()
    free.refresh_from_db()
    control.clear_calls()

    drift_accept_aws(actor=None, obj=free)
    free.refresh_from_db()
    assert free.quota_limit == 2500
    assert free.sync_status == SyncStatus.SYNCED and free.drift is None
    assert not set(operations(control)) & WRITES
    assert reconcile().drifted == []


def test_a_key_deleted_in_aws_is_recreated_by_pushing_ours(
    synced_world: dict[str, Any], apigw: Any, settle: Any
) -> None:
    key = synced_world["keys"][0]
    apigw.delete_api_key(apiKey=key.aws_id)
    reconcile()
    key.refresh_from_db()
    assert key.sync_status == SyncStatus.DRIFTED
    assert key.drift is not None and key.drift["differences"][0]["aws"] == "deleted in AWS"

    old_id = key.aws_id
    drift_push_ours(actor=None, obj=key)
    settle()
    key.refresh_from_db()
    assert key.sync_status == SyncStatus.SYNCED
    assert key.aws_id and key.aws_id != old_id
    free = synced_world["tiers"]["Free"]
    in_plan = {k["id"] for k in apigw.get_usage_plan_keys(usagePlanId=free.aws_id)["items"]}
    assert key.aws_id in in_plan


def test_a_key_deleted_in_aws_can_be_accepted_as_revoked(
    synced_world: dict[str, Any], apigw: Any
) -> None:
    key = synced_world["keys"][1]
    apigw.delete_api_key(apiKey=key.aws_id)
    reconcile()
    drift_accept_aws(actor=None, obj=ApiKey.objects.get(pk=key.pk))
    key.refresh_from_db()
    assert key.revoked_at is not None and key.sync_status == SyncStatus.SYNCED


def test_a_key_disabled_in_aws_can_be_accepted(synced_world: dict[str, Any], apigw: Any) -> None:
    key = synced_world["keys"][2]
    apigw.update_api_key(
        apiKey=key.aws_id, patchOperations=[{"op": "replace", "path": "/enabled", "value": "false"}]
    )
    reconcile()
    drift_accept_aws(actor=None, obj=ApiKey.objects.get(pk=key.pk))
    key.refresh_from_db()
    assert key.enabled is False and key.sync_status == SyncStatus.SYNCED


def test_a_key_moved_between_plans_in_aws_is_drift(
    synced_world: dict[str, Any], apigw: Any, settle: Any
) -> None:
    key = synced_world["keys"][0]
    free, premium = synced_world["tiers"]["Free"], synced_world["tiers"]["Premium"]
    apigw.delete_usage_plan_key(usagePlanId=free.aws_id, keyId=key.aws_id)
    apigw.create_usage_plan_key(usagePlanId=premium.aws_id, keyId=key.aws_id, keyType="API_KEY")
    reconcile()
    key.refresh_from_db()
    assert key.drift is not None
    moved = {"field": "usage plan", "ours": "Free", "aws": "Premium", "where": "us-east-1"}
    assert moved in key.drift["differences"]

    drift_push_ours(actor=None, obj=key)
    settle()
    in_free = {k["id"] for k in apigw.get_usage_plan_keys(usagePlanId=free.aws_id)["items"]}
    assert key.aws_id in in_free


def test_it_removes_tollgates_leftovers_and_lists_foreign_plans(
    synced_world: dict[str, Any], apigw: Any, demo_api: tuple[str, str]
) -> None:
    apigw.create_usage_plan(name="leftover", tags={"tollgate:id": "plan:99999"})
    apigw.create_api_key(name="leftover-key", enabled=True, tags={"tollgate:id": "key:nobody"})
    apigw.create_usage_plan(name="Legacy gold")
    apigw.create_api_key(name="legacy", enabled=True)

    report = reconcile()
    names = [p["name"] for p in apigw.get_usage_plans()["items"]]
    assert "leftover" not in names and "Legacy gold" in names
    assert "leftover-key" not in [k["name"] for k in apigw.get_api_keys()["items"]]
    assert len(report.removed) == 2
    assert [p["name"] for p in report.foreign_usage_plans] == ["Legacy gold"]
    assert report.foreign_key_count == 1
    run = ReconcileRun.objects.get()
    assert run.foreign_key_count == 1


def test_a_failed_key_is_sent_again(synced_world: dict[str, Any], settle: Any) -> None:
    key = synced_world["keys"][0]
    ApiKey.objects.filter(pk=key.pk).update(sync_status=SyncStatus.FAILED, sync_error="boom")
    reconcile()
    settle()
    key.refresh_from_db()
    assert key.sync_status == SyncStatus.SYNCED


def test_dry_run_changes_nothing(
    synced_world: dict[str, Any], apigw: Any, control: LocalAwsControl, capsys: Any
) -> None:
    premium = synced_world["tiers"]["Premium"]
    apigw.update_usage_plan(
        usagePlanId=premium.aws_id,
        patchOperations=[{"op": "replace", "path": "/name", "value": "Renamed in console"}],
    )
    apigw.create_usage_plan(name="leftover", tags={"tollgate:id": "plan:99999"})
    control.clear_calls()

    call_command("reconcile", "--dry-run")
    out = capsys.readouterr().out
    assert "drifted  tier “Premium”: name is Renamed in console in AWS, Premium here" in out
    assert "remove   usage plan" in out
    assert not set(operations(control)) & WRITES
    premium.refresh_from_db()
    assert premium.sync_status == SyncStatus.SYNCED
    assert Customer.objects.count() == 1
    assert isinstance(synced_world["owner"], User)


def test_a_sync_that_ran_while_aws_was_read_is_not_called_drift(
    synced_world: dict[str, Any], apigw: Any, monkeypatch: Any
) -> None:
    from django.utils import timezone

    from portal.reconcile import places

    key = synced_world["keys"][0]
    apigw.update_api_key(
        apiKey=key.aws_id, patchOperations=[{"op": "replace", "path": "/enabled", "value": "false"}]
    )
    real_list = places.aws.list_api_keys

    def list_then_sync() -> Any:
        listed = real_list()
        # The key's own sync runs now, after AWS was read and before the rows are.
        ApiKey.objects.filter(pk=key.pk).update(sync_attempted_at=timezone.now())
        return listed

    monkeypatch.setattr(places.aws, "list_api_keys", list_then_sync)
    report = reconcile()
    assert report.drifted == []
    key.refresh_from_db()
    assert key.sync_status == SyncStatus.SYNCED
