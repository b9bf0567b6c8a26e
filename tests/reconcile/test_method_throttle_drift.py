"""Per-method throttles changed in AWS are drift, settled either way; an adopted usage plan keeps
its own (the reconciler and adoption against the local AWS)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from plans.models import ApiStage, Plan
from portal.reconcile.adoption import adopt_usage_plan
from portal.reconcile.drift import drift_accept_aws, drift_push_ours
from portal.reconcile.services import reconcile
from portal.sync import SyncStatus
from tests.plans.test_method_throttle_sync import premium, stage_throttle  # noqa: F401 - a fixture

pytestmark = pytest.mark.integration


def test_in_sync_no_drift_and_a_change_in_aws_is_drift(
    premium: Plan,  # noqa: F811
    live_tiers: dict[str, Plan],
    live_stage: ApiStage,
    apigw: Any,
    settle: Any,
) -> None:
    report = reconcile()
    assert report.drifted == []

    prefix = f"/apiStages/{live_stage.rest_api_id}:{live_stage.stage_name}/throttle"
    apigw.update_usage_plan(
        usagePlanId=premium.aws_id,
        patchOperations=[
            {"op": "replace", "path": f"{prefix}//forecast/GET/burstLimit", "value": "8"}
        ],
    )
    reconcile()
    premium.refresh_from_db()
    assert premium.sync_status == SyncStatus.DRIFTED
    assert premium.drift is not None
    where = f"{live_stage.rest_api_id}:{live_stage.stage_name}"
    assert premium.drift["differences"] == [
        {
            "field": "method throttles",
            "ours": f"GET /forecast on {where}: 5 req/s, burst 10; "
            f"POST /geocode on {where}: 2.5 req/s, burst 4",
            "aws": f"GET /forecast on {where}: 5 req/s, burst 8; "
            f"POST /geocode on {where}: 2.5 req/s, burst 4",
            "where": "us-east-1",
        }
    ]

    drift_push_ours(actor=None, obj=premium)
    settle()
    assert stage_throttle(apigw, premium)["/forecast/GET"] == {"rateLimit": 5.0, "burstLimit": 10}
    assert reconcile().drifted == []


def test_a_method_throttle_changed_in_aws_can_be_accepted(
    premium: Plan,  # noqa: F811
    live_stage: ApiStage,
    apigw: Any,
) -> None:
    prefix = f"/apiStages/{live_stage.rest_api_id}:{live_stage.stage_name}/throttle"
    apigw.update_usage_plan(
        usagePlanId=premium.aws_id,
        patchOperations=[
            {"op": "remove", "path": f"{prefix}//geocode/POST"},
            {"op": "add", "path": f"{prefix}//cities/GET/rateLimit", "value": "1.5"},
            {"op": "add", "path": f"{prefix}//cities/GET/burstLimit", "value": "3"},
        ],
    )
    reconcile()
    premium.refresh_from_db()
    drift_accept_aws(actor=None, obj=premium)

    found = {
        (t.http_method, t.resource_path, t.rate, t.burst) for t in premium.method_throttles.all()
    }
    assert found == {("GET", "/forecast", 5, 10), ("GET", "/cities", Decimal("1.5"), 3)}
    assert reconcile().drifted == []


def test_a_method_throttle_above_the_tier_in_aws_cannot_be_accepted(
    premium: Plan,  # noqa: F811
    live_stage: ApiStage,
    apigw: Any,
) -> None:
    prefix = f"/apiStages/{live_stage.rest_api_id}:{live_stage.stage_name}/throttle"
    apigw.update_usage_plan(
        usagePlanId=premium.aws_id,
        patchOperations=[
            {"op": "replace", "path": f"{prefix}//forecast/GET/rateLimit", "value": "80"}
        ],
    )
    reconcile()
    premium.refresh_from_db()
    with pytest.raises(Exception, match="A method's rate cannot be above the tier's"):
        drift_accept_aws(actor=None, obj=premium)
    assert premium.method_throttles.get(resource_path="/forecast").rate == 5


def test_an_adopted_usage_plan_keeps_its_method_throttles(
    worker: Any, apigw: Any, demo_api: tuple[str, str], settle: Any
) -> None:
    api_id, stage_name = demo_api
    throttle = {"/forecast/GET": {"rateLimit": 4.0, "burstLimit": 8}}
    foreign = apigw.create_usage_plan(
        name="Legacy",
        apiStages=[{"apiId": api_id, "stage": stage_name, "throttle": throttle}],
        throttle={"rateLimit": 20.0, "burstLimit": 40},
    )
    result = adopt_usage_plan(actor=None, aws_plan_id=foreign["id"], new_customer_name="Partners")
    settle()

    plan = Plan.objects.get(aws_id=foreign["id"])
    assert [
        (t.http_method, t.resource_path, t.rate, t.burst) for t in plan.method_throttles.all()
    ] == [("GET", "/forecast", Decimal("4"), 8)]
    assert result is not None
    assert stage_throttle(apigw, plan) == throttle
    assert reconcile().drifted == []
