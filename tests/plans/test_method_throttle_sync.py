"""Per-method throttles reach the usage plan's apiStages[].throttle over HTTP, are patched with
the minimal operations, and are shown on the catalog's reference page."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.test import Client

from localaws.testing import LocalAwsControl
from plans.models import ApiStage, Plan
from plans.services import plan_create, plan_update
from plans.sync import usage_plan_spec
from portal.aws import apigateway as aws
from portal.sync import SyncStatus
from tests.catalog.test_catalog_export import (
    limit_cells,
    operation_blocks,
    wait_for_documents,
)
from tests.conftest import PREMIUM

pytestmark = pytest.mark.integration


GOLD = dict(PREMIUM, name="Gold")


def limit(stage: ApiStage, path: str, rate: str, burst: int, method: str = "GET") -> dict[str, Any]:
    return {
        "stage": stage,
        "resource_path": path,
        "http_method": method,
        "rate": Decimal(rate),
        "burst": burst,
    }


def stage_throttle(apigw: Any, plan: Plan) -> dict[str, Any]:
    stages = apigw.get_usage_plan(usagePlanId=plan.aws_id)["apiStages"]
    assert len(stages) == 1
    return dict(stages[0].get("throttle") or {})


def edit(plan: Plan, *limits: dict[str, Any]) -> Plan:
    return plan_update(
        actor=None,
        plan=plan,
        data=dict(GOLD),
        stages=plan.stages.all(),
        method_throttles=list(limits),
    )


@pytest.fixture
def premium(live_stage: ApiStage, settle: Any) -> Plan:
    plan = plan_create(
        actor=None,
        data=dict(GOLD),
        stages=[live_stage],
        method_throttles=[
            limit(live_stage, "/forecast", "5", 10),
            limit(live_stage, "/geocode", "2.5", 4, method="POST"),
        ],
    )
    settle()
    plan.refresh_from_db()
    assert plan.sync_status == SyncStatus.SYNCED
    return plan


def test_a_new_tier_carries_its_method_throttles(premium: Plan, apigw: Any) -> None:
    assert stage_throttle(apigw, premium) == {
        "/forecast/GET": {"rateLimit": 5.0, "burstLimit": 10},
        "/geocode/POST": {"rateLimit": 2.5, "burstLimit": 4},
    }


def test_edits_send_only_the_changed_limits(
    premium: Plan, live_stage: ApiStage, apigw: Any, control: LocalAwsControl, settle: Any
) -> None:
    before = apigw.get_usage_plan(usagePlanId=premium.aws_id)
    control.clear_calls()
    edit(
        premium,
        limit(live_stage, "/forecast", "3", 10),  # rate changed
        limit(live_stage, "/forecast/{city}", "1", 2),  # new
        # POST /geocode removed
    )
    settle()

    prefix = f"/apiStages/{live_stage.rest_api_id}:{live_stage.stage_name}/throttle"
    premium.refresh_from_db()
    assert aws.usage_plan_patch(before, usage_plan_spec(premium)) == [
        {"op": "remove", "path": f"{prefix}//geocode/POST"},
        {"op": "replace", "path": f"{prefix}//forecast/GET/rateLimit", "value": "3.00"},
        {"op": "add", "path": f"{prefix}//forecast/{{city}}/GET/rateLimit", "value": "1.00"},
        {"op": "add", "path": f"{prefix}//forecast/{{city}}/GET/burstLimit", "value": "2"},
    ]
    assert len(control.calls("UpdateUsagePlan")) == 1
    assert not control.calls("CreateUsagePlan")
    assert premium.sync_status == SyncStatus.SYNCED
    assert stage_throttle(apigw, premium) == {
        "/forecast/GET": {"rateLimit": 3.0, "burstLimit": 10},
        "/forecast/{city}/GET": {"rateLimit": 1.0, "burstLimit": 2},
    }

    control.clear_calls()
    edit(premium)
    settle()
    assert stage_throttle(apigw, premium) == {}
    assert len(control.calls("UpdateUsagePlan")) == 1


def test_the_reference_page_shows_the_method_limit(
    premium: Plan, live_tiers: dict[str, Plan], live_stage: ApiStage
) -> None:
    wait_for_documents(live_stage, 1)
    page = Client().get(f"/apis/{live_stage.pk}/").content.decode()
    blocks = operation_blocks(page)

    def cells(key: tuple[str, str]) -> dict[str, tuple[str, str]]:
        return {
            slug: (" ".join(throttle.split()), quota)
            for slug, (throttle, quota) in limit_cells(blocks[key]).items()
        }

    forecast = cells(("GET", "/forecast"))
    assert forecast["gold"] == ("5 req/s, burst 10 (this method)", "100,000 requests per month")
    assert forecast["free"] == ("2 req/s, burst 5", "1,000 requests per day")
    geocode = cells(("POST", "/geocode"))
    assert geocode["gold"] == ("2.5 req/s, burst 4 (this method)", "100,000 requests per month")
    cities = cells(("GET", "/cities"))
    assert cities["gold"] == ("50 req/s, burst 100", "100,000 requests per month")

    pricing = Client().get("/pricing/").content.decode()
    assert "GET /forecast: 5 req/s, burst 10" in pricing
