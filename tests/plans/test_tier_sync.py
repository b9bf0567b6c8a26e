"""Tiers reach API Gateway as usage plans, read back from the local AWS over HTTP."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from localaws.testing import LocalAwsControl
from plans.models import ApiStage, Plan
from plans.services import plan_archive, plan_create, plan_retry_sync, plan_update
from portal.sync import SyncStatus
from tests.conftest import PREMIUM

pytestmark = pytest.mark.integration


def test_it_creates_the_usage_plan(live_stage: ApiStage, apigw: Any, settle: Any) -> None:
    plan = plan_create(actor=None, data=dict(PREMIUM), stages=[live_stage])
    settle()
    plan.refresh_from_db()

    assert plan.sync_status == SyncStatus.SYNCED
    assert plan.synced_at is not None
    usage_plan = apigw.get_usage_plan(usagePlanId=plan.aws_id)
    assert usage_plan["name"] == "Premium"
    assert usage_plan["throttle"] == {"rateLimit": 50.0, "burstLimit": 100}
    assert usage_plan["quota"] == {"limit": 100000, "period": "MONTH", "offset": 0}
    assert usage_plan["apiStages"] == [
        {"apiId": live_stage.rest_api_id, "stage": live_stage.stage_name}
    ]
    assert usage_plan["tags"] == {"tollgate:id": f"plan:{plan.pk}"}


def test_it_patches_only_what_changed(
    live_tiers: dict[str, Plan], apigw: Any, control: LocalAwsControl, settle: Any
) -> None:
    plan = live_tiers["Premium"]
    control.clear_calls()
    data = dict(
        PREMIUM,
        throttle_rate=Decimal("12.5"),
        quota_limit=5000,
        quota_period="WEEK",
        quota_offset=1,
    )
    plan_update(actor=None, plan=plan, data=data, stages=plan.stages.all())
    settle()

    usage_plan = apigw.get_usage_plan(usagePlanId=plan.aws_id)
    assert usage_plan["throttle"] == {"rateLimit": 12.5, "burstLimit": 100}
    assert usage_plan["quota"] == {"limit": 5000, "period": "WEEK", "offset": 1}
    updates = control.calls("UpdateUsagePlan")
    assert len(updates) == 1
    assert not control.calls("CreateUsagePlan")


def test_it_removes_throttle_and_quota(
    live_tiers: dict[str, Plan], apigw: Any, settle: Any
) -> None:
    plan = live_tiers["Premium"]
    data = dict(PREMIUM, throttle_rate=None, throttle_burst=None, quota_limit=None, quota_period="")
    plan_update(actor=None, plan=plan, data=data, stages=plan.stages.all())
    settle()

    usage_plan = apigw.get_usage_plan(usagePlanId=plan.aws_id)
    assert "throttle" not in usage_plan or not usage_plan["throttle"]
    assert "quota" not in usage_plan or not usage_plan["quota"]


def test_it_deletes_an_archived_tier(live_tiers: dict[str, Plan], apigw: Any, settle: Any) -> None:
    plan = live_tiers["Premium"]
    plan_archive(actor=None, plan=plan)
    settle()

    plan.refresh_from_db()
    assert plan.sync_status == SyncStatus.SYNCED
    ids = [p["id"] for p in apigw.get_usage_plans()["items"]]
    assert plan.aws_id not in ids
    assert live_tiers["Free"].aws_id in ids


def test_a_failed_call_shows_failed_and_a_retry_succeeds(
    live_stage: ApiStage, apigw: Any, control: LocalAwsControl, settle: Any
) -> None:
    control.add_fault(
        "CreateUsagePlan", status=400, code="BadRequestException", message="Invalid quota", times=1
    )
    plan = plan_create(actor=None, data=dict(PREMIUM), stages=[live_stage])
    settle()
    plan.refresh_from_db()
    assert plan.sync_status == SyncStatus.FAILED
    assert "Invalid quota" in plan.sync_error
    assert "CreateUsagePlan" in plan.sync_error
    assert not apigw.get_usage_plans()["items"]

    plan_retry_sync(actor=None, plan=plan)
    settle()
    plan.refresh_from_db()
    assert plan.sync_status == SyncStatus.SYNCED
    assert plan.sync_error == ""
    assert [p["name"] for p in apigw.get_usage_plans()["items"]] == ["Premium"]


def test_a_throttled_call_is_retried_without_failing(
    live_stage: ApiStage, apigw: Any, control: LocalAwsControl, settle: Any
) -> None:
    control.add_fault("CreateUsagePlan", status=429, times=4)
    plan = plan_create(actor=None, data=dict(PREMIUM), stages=[live_stage])
    settle(timeout=60)
    plan.refresh_from_db()
    assert plan.sync_status == SyncStatus.SYNCED
    assert len(apigw.get_usage_plans()["items"]) == 1


def test_a_create_applied_but_reported_failed_is_adopted_not_duplicated(
    live_stage: ApiStage, apigw: Any, control: LocalAwsControl, settle: Any
) -> None:
    control.add_fault("CreateUsagePlan", status=500, after_apply=True, times=1)
    plan = plan_create(actor=None, data=dict(PREMIUM), stages=[live_stage])
    settle(timeout=60)
    plan.refresh_from_db()
    items = apigw.get_usage_plans()["items"]
    assert len(items) == 1
    assert plan.aws_id == items[0]["id"]
