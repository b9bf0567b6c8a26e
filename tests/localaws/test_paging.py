"""AWS pages list operations; moto does not. These pin the AWS behaviour."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

pytestmark = pytest.mark.integration


def _create_keys(apigw: Any, count: int) -> list[str]:
    return [apigw.create_api_key(name=f"key-{i:03d}")["id"] for i in range(count)]


def test_api_keys_come_in_pages_of_limit(apigw: Any) -> None:
    created = _create_keys(apigw, 60)

    sizes, seen, position = [], [], None
    while True:
        kwargs = {"limit": 25} | ({"position": position} if position else {})
        page = apigw.get_api_keys(**kwargs)
        sizes.append(len(page["items"]))
        seen += [k["id"] for k in page["items"]]
        position = page.get("position")
        if not position:
            break

    assert sizes == [25, 25, 10]
    assert sorted(seen) == sorted(created)


def test_default_limit_is_25(apigw: Any) -> None:
    _create_keys(apigw, 30)
    page = apigw.get_api_keys()
    assert len(page["items"]) == 25
    assert "position" in page


def test_paginator_walks_all_pages(apigw: Any, control: Any) -> None:
    created = _create_keys(apigw, 60)
    control.clear_calls()

    items = [
        key
        for page in apigw.get_paginator("get_api_keys").paginate(includeValues=True)
        for key in page["items"]
    ]

    assert sorted(k["id"] for k in items) == sorted(created)
    assert all("value" in k for k in items)
    assert len(control.calls("GetApiKeys")) == 3


def test_limit_above_500_is_rejected(apigw: Any) -> None:
    with pytest.raises(ClientError) as exc:
        apigw.get_api_keys(limit=501)
    assert exc.value.response["Error"]["Code"] == "BadRequestException"
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert apigw.get_api_keys(limit=500)["items"] == []


def test_foreign_position_is_rejected(apigw: Any) -> None:
    with pytest.raises(ClientError) as exc:
        apigw.get_api_keys(position="not-a-token")
    assert exc.value.response["Error"]["Code"] == "BadRequestException"


def test_deleting_between_pages_neither_skips_nor_repeats(apigw: Any) -> None:
    created = _create_keys(apigw, 30)
    first = apigw.get_api_keys(limit=10)
    apigw.delete_api_key(apiKey=first["items"][0]["id"])
    rest = [
        k["id"]
        for page in apigw.get_paginator("get_api_keys").paginate(
            PaginationConfig={"StartingToken": first["position"]}
        )
        for k in page["items"]
    ]
    assert sorted([k["id"] for k in first["items"]] + rest) == sorted(created)


def test_usage_plans_are_paged(apigw: Any) -> None:
    for i in range(30):
        apigw.create_usage_plan(name=f"plan-{i}")
    page = apigw.get_usage_plans(limit=25)
    assert len(page["items"]) == 25
    rest = apigw.get_usage_plans(limit=25, position=page["position"])
    assert len(rest["items"]) == 5
    assert "position" not in rest


def test_usage_plan_keys_are_paged(apigw: Any) -> None:
    plan = apigw.create_usage_plan(name="plan")["id"]
    for key_id in _create_keys(apigw, 30):
        apigw.create_usage_plan_key(usagePlanId=plan, keyId=key_id, keyType="API_KEY")
    pages = list(apigw.get_paginator("get_usage_plan_keys").paginate(usagePlanId=plan))
    assert [len(p["items"]) for p in pages] == [25, 5]


def test_usage_plan_keys_drop_deleted_api_keys(apigw: Any) -> None:
    plan = apigw.create_usage_plan(name="plan")["id"]
    keep, gone = _create_keys(apigw, 2)
    for key_id in (keep, gone):
        apigw.create_usage_plan_key(usagePlanId=plan, keyId=key_id, keyType="API_KEY")
    apigw.delete_api_key(apiKey=gone)
    assert [k["id"] for k in apigw.get_usage_plan_keys(usagePlanId=plan)["items"]] == [keep]


def test_rest_apis_are_paged(apigw: Any) -> None:
    for i in range(27):
        apigw.create_rest_api(name=f"api-{i}")
    pages = list(apigw.get_paginator("get_rest_apis").paginate())
    assert [len(p["items"]) for p in pages] == [25, 2]


def test_api_keys_filter_by_customer_id(apigw: Any) -> None:
    mine = apigw.create_api_key(name="mine", customerId="cust-1")["id"]
    apigw.create_api_key(name="other", customerId="cust-2")
    assert [k["id"] for k in apigw.get_api_keys(customerId="cust-1")["items"]] == [mine]
