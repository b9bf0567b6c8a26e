"""AWS refuses one API key in two usage plans covering the same API stage."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from localaws.demo_api import ensure_demo_api

pytestmark = pytest.mark.integration

MESSAGE = "cannot reference multiple Usage Plans with the same API Stage"


@pytest.fixture
def stage(apigw: Any) -> dict[str, str]:
    api_id, stage_name = ensure_demo_api(apigw)
    return {"apiId": api_id, "stage": stage_name}


def _add_key(apigw: Any, plan_id: str, key_id: str) -> None:
    apigw.create_usage_plan_key(usagePlanId=plan_id, keyId=key_id, keyType="API_KEY")


def test_second_plan_on_same_stage_is_refused(apigw: Any, stage: dict[str, str]) -> None:
    gold = apigw.create_usage_plan(name="gold", apiStages=[stage])["id"]
    silver = apigw.create_usage_plan(name="silver", apiStages=[stage])["id"]
    key = apigw.create_api_key(name="customer")["id"]
    _add_key(apigw, gold, key)

    with pytest.raises(ClientError) as exc:
        _add_key(apigw, silver, key)

    error = exc.value.response["Error"]
    assert error["Code"] == "BadRequestException"
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert MESSAGE in error["Message"]
    assert f"{stage['apiId']}:{stage['stage']}" in error["Message"]
    assert apigw.get_usage_plan_keys(usagePlanId=silver)["items"] == []


def test_moving_a_key_works_after_removing_it(apigw: Any, stage: dict[str, str]) -> None:
    gold = apigw.create_usage_plan(name="gold", apiStages=[stage])["id"]
    silver = apigw.create_usage_plan(name="silver", apiStages=[stage])["id"]
    key = apigw.create_api_key(name="customer")["id"]
    _add_key(apigw, gold, key)
    apigw.delete_usage_plan_key(usagePlanId=gold, keyId=key)

    _add_key(apigw, silver, key)

    assert [k["id"] for k in apigw.get_usage_plan_keys(usagePlanId=silver)["items"]] == [key]


def test_plans_on_different_stages_may_share_a_key(apigw: Any, stage: dict[str, str]) -> None:
    apigw.create_deployment(restApiId=stage["apiId"], stageName="dev")
    prod = apigw.create_usage_plan(name="prod", apiStages=[stage])["id"]
    dev = apigw.create_usage_plan(
        name="dev", apiStages=[{"apiId": stage["apiId"], "stage": "dev"}]
    )["id"]
    key = apigw.create_api_key(name="customer")["id"]

    _add_key(apigw, prod, key)
    _add_key(apigw, dev, key)


def test_adding_conflicting_stage_to_plan_is_refused(apigw: Any, stage: dict[str, str]) -> None:
    gold = apigw.create_usage_plan(name="gold", apiStages=[stage])["id"]
    empty = apigw.create_usage_plan(name="empty")["id"]
    key = apigw.create_api_key(name="customer")["id"]
    _add_key(apigw, gold, key)
    _add_key(apigw, empty, key)

    with pytest.raises(ClientError) as exc:
        apigw.update_usage_plan(
            usagePlanId=empty,
            patchOperations=[
                {"op": "add", "path": "/apiStages", "value": f"{stage['apiId']}:{stage['stage']}"}
            ],
        )

    assert exc.value.response["Error"]["Code"] == "BadRequestException"
    assert MESSAGE in exc.value.response["Error"]["Message"]
    assert apigw.get_usage_plan(usagePlanId=empty).get("apiStages", []) == []


def test_key_for_missing_plan_is_not_found(apigw: Any) -> None:
    key = apigw.create_api_key(name="customer")["id"]
    with pytest.raises(ClientError) as exc:
        _add_key(apigw, "nosuchplan", key)
    assert exc.value.response["Error"]["Code"] == "NotFoundException"


def test_usage_plan_numbers_keep_aws_types(apigw: Any) -> None:
    plan = apigw.create_usage_plan(
        name="p",
        throttle={"rateLimit": 10.0, "burstLimit": 20},
        quota={"limit": 100, "period": "DAY"},
    )["id"]
    updated = apigw.update_usage_plan(
        usagePlanId=plan,
        patchOperations=[
            {"op": "replace", "path": "/throttle/rateLimit", "value": "2.5"},
            {"op": "replace", "path": "/quota/limit", "value": "1000"},
        ],
    )
    fetched = apigw.get_usage_plan(usagePlanId=plan)
    for body in (updated, fetched):
        assert body["throttle"] == {"rateLimit": 2.5, "burstLimit": 20}
        assert body["quota"] == {"limit": 1000, "period": "DAY"}
