"""Per-method throttles in a usage plan's apiStages, kept and patched as AWS does.

Paths follow the API reference's "Patch Operations" table for UpdateUsagePlan.
"""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from localaws.demo_api import ensure_demo_api

pytestmark = pytest.mark.integration


@pytest.fixture
def stage(apigw: Any) -> dict[str, str]:
    api_id, stage_name = ensure_demo_api(apigw)
    return {"apiId": api_id, "stage": stage_name}


def _prefix(stage: dict[str, str]) -> str:
    return f"/apiStages/{stage['apiId']}:{stage['stage']}/throttle"


def _stage_throttle(apigw: Any, plan_id: str) -> dict[str, Any]:
    stages = apigw.get_usage_plan(usagePlanId=plan_id)["apiStages"]
    assert len(stages) == 1
    return dict(stages[0].get("throttle") or {})


def test_create_keeps_method_throttles(apigw: Any, stage: dict[str, str]) -> None:
    throttle = {"/forecast/GET": {"rateLimit": 2.5, "burstLimit": 5}}
    plan = apigw.create_usage_plan(name="p", apiStages=[stage | {"throttle": throttle}])

    assert plan["apiStages"][0]["throttle"] == throttle
    assert _stage_throttle(apigw, plan["id"]) == throttle
    listed = apigw.get_usage_plans()["items"][0]
    assert listed["apiStages"][0]["throttle"] == throttle


def test_add_replace_and_remove_one_method(apigw: Any, stage: dict[str, str]) -> None:
    plan_id = apigw.create_usage_plan(name="p", apiStages=[stage])["id"]
    prefix = _prefix(stage)
    apigw.update_usage_plan(
        usagePlanId=plan_id,
        patchOperations=[
            {"op": "add", "path": f"{prefix}//forecast/{{city}}/GET/rateLimit", "value": "1.5"},
            {"op": "add", "path": f"{prefix}//forecast/{{city}}/GET/burstLimit", "value": "3"},
            {"op": "replace", "path": f"{prefix}/~1forecast/GET/rateLimit", "value": "7"},
            {"op": "replace", "path": f"{prefix}/~1forecast/GET/burstLimit", "value": "9"},
        ],
    )
    assert _stage_throttle(apigw, plan_id) == {
        "/forecast/{city}/GET": {"rateLimit": 1.5, "burstLimit": 3},
        "/forecast/GET": {"rateLimit": 7.0, "burstLimit": 9},
    }

    answer = apigw.update_usage_plan(
        usagePlanId=plan_id,
        patchOperations=[
            {"op": "replace", "path": f"{prefix}//forecast/GET/burstLimit", "value": "4"},
            {"op": "remove", "path": f"{prefix}//forecast/{{city}}/GET"},
        ],
    )
    expected = {"/forecast/GET": {"rateLimit": 7.0, "burstLimit": 4}}
    assert answer["apiStages"][0]["throttle"] == expected
    assert _stage_throttle(apigw, plan_id) == expected


def test_whole_map_add_and_remove(apigw: Any, stage: dict[str, str]) -> None:
    plan_id = apigw.create_usage_plan(name="p", apiStages=[stage])["id"]
    apigw.update_usage_plan(
        usagePlanId=plan_id,
        patchOperations=[
            {
                "op": "add",
                "path": _prefix(stage),
                "value": '{"/forecast/GET": {"rateLimit": 2, "burstLimit": 2}}',
            }
        ],
    )
    assert _stage_throttle(apigw, plan_id) == {"/forecast/GET": {"rateLimit": 2.0, "burstLimit": 2}}

    apigw.update_usage_plan(
        usagePlanId=plan_id, patchOperations=[{"op": "remove", "path": _prefix(stage)}]
    )
    assert apigw.get_usage_plan(usagePlanId=plan_id)["apiStages"] == [stage]


def test_a_stage_with_throttles_can_be_detached(apigw: Any, stage: dict[str, str]) -> None:
    throttle = {"/forecast/GET": {"rateLimit": 1.0, "burstLimit": 1}}
    plan_id = apigw.create_usage_plan(name="p", apiStages=[stage | {"throttle": throttle}])["id"]
    apigw.update_usage_plan(
        usagePlanId=plan_id,
        patchOperations=[
            {"op": "remove", "path": "/apiStages", "value": f"{stage['apiId']}:{stage['stage']}"}
        ],
    )
    assert apigw.get_usage_plan(usagePlanId=plan_id)["apiStages"] == []
    apigw.delete_usage_plan(usagePlanId=plan_id)


def test_a_resource_named_like_a_field_does_not_touch_it(apigw: Any, stage: dict[str, str]) -> None:
    """Moto matches paths by substring: "/names/GET" must not rename the plan."""
    plan_id = apigw.create_usage_plan(name="p", apiStages=[stage])["id"]
    apigw.update_usage_plan(
        usagePlanId=plan_id,
        patchOperations=[
            {"op": "replace", "path": f"{_prefix(stage)}//names/GET/rateLimit", "value": "3"}
        ],
    )
    plan = apigw.get_usage_plan(usagePlanId=plan_id)
    assert plan["name"] == "p"
    assert plan["apiStages"][0]["throttle"] == {"/names/GET": {"rateLimit": 3.0}}


@pytest.mark.parametrize(
    ("op", "suffix", "value", "message"),
    [
        ("replace", "//forecast/GET", "1", "not supported"),
        ("remove", "//forecast/GET/rateLimit", None, "not supported"),
        ("remove", "//forecast/GET", None, "No throttle is set"),
        ("replace", "//forecast/GET/rateLimit", "fast", "Invalid rateLimit"),
        ("replace", "/forecast/get/rateLimit", "1", "Invalid method throttle path"),
    ],
)
def test_refused_operations_change_nothing(
    apigw_no_retry: Any,
    stage: dict[str, str],
    op: str,
    suffix: str,
    value: str | None,
    message: str,
) -> None:
    plan_id = apigw_no_retry.create_usage_plan(name="p", apiStages=[stage])["id"]
    operation = {"op": op, "path": _prefix(stage) + suffix}
    if value is not None:
        operation["value"] = value
    with pytest.raises(ClientError) as exc:
        apigw_no_retry.update_usage_plan(
            usagePlanId=plan_id,
            patchOperations=[{"op": "replace", "path": "/name", "value": "renamed"}, operation],
        )
    assert exc.value.response["Error"]["Code"] == "BadRequestException"
    assert message in exc.value.response["Error"]["Message"]
    plan = apigw_no_retry.get_usage_plan(usagePlanId=plan_id)
    assert plan["name"] == "p"
    assert plan["apiStages"] == [stage]


def test_a_stage_not_in_the_plan_is_refused(apigw_no_retry: Any, stage: dict[str, str]) -> None:
    plan_id = apigw_no_retry.create_usage_plan(name="p", apiStages=[stage])["id"]
    with pytest.raises(ClientError) as exc:
        apigw_no_retry.update_usage_plan(
            usagePlanId=plan_id,
            patchOperations=[
                {
                    "op": "add",
                    "path": "/apiStages/nope:prod/throttle//x/GET/rateLimit",
                    "value": "1",
                }
            ],
        )
    assert "not in this usage plan" in exc.value.response["Error"]["Message"]
