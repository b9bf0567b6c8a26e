"""ImportApiKeys: the AWS API key file format, warnings and failonwarnings."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from localaws.demo_api import ensure_demo_api
from localaws.testing import LocalAwsControl

pytestmark = pytest.mark.integration


def _value(i: int) -> str:
    return f"imported-key-value-{i:06d}-xxxxxxxx"


def _all(apigw: Any, operation: str, **kwargs: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    for page in apigw.get_paginator(operation).paginate(**kwargs):
        items.extend(page["items"])
    return items


def _import(apigw: Any, csv: str, fail: bool = False) -> dict[str, Any]:
    result: dict[str, Any] = apigw.import_api_keys(
        body=csv.encode(), format="csv", failOnWarnings=fail
    )
    return result


def test_thousand_keys_join_their_plans(apigw: Any, control: LocalAwsControl) -> None:
    gold = apigw.create_usage_plan(name="gold")["id"]
    silver = apigw.create_usage_plan(name="silver")["id"]
    lines = ["Name,Key,Description,Enabled,UsagePlanIds"]
    for i in range(1000):
        plans = f'"{gold},{silver}"' if i % 2 else gold
        enabled = "false" if i % 10 == 0 else "TRUE"
        lines.append(f"customer-{i},{_value(i)},imported #{i},{enabled},{plans}")

    result = _import(apigw, "\n".join(lines) + "\n")

    assert result["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert len(result["ids"]) == 1000
    assert "warnings" not in result
    keys = {k["id"]: k for k in _all(apigw, "get_api_keys", includeValues=True)}
    assert set(keys) == set(result["ids"])
    by_name = {k["name"]: k for k in keys.values()}
    assert by_name["customer-7"]["value"] == _value(7)
    assert by_name["customer-7"]["description"] == "imported #7"
    assert by_name["customer-7"]["enabled"] is True
    assert by_name["customer-10"]["enabled"] is False
    assert all("createdDate" in k for k in keys.values())
    gold_keys = _all(apigw, "get_usage_plan_keys", usagePlanId=gold)
    silver_keys = _all(apigw, "get_usage_plan_keys", usagePlanId=silver)
    assert len(gold_keys) == 1000
    assert {k["name"] for k in silver_keys} == {f"customer-{i}" for i in range(1, 1000, 2)}
    assert [c["operation"] for c in control.calls("ImportApiKeys")] == ["ImportApiKeys"]


def test_bad_rows_become_warnings_naming_the_line(apigw: Any) -> None:
    api_id, stage = ensure_demo_api(apigw)
    on_stage = [{"apiId": api_id, "stage": stage}]
    gold = apigw.create_usage_plan(name="gold", apiStages=on_stage)["id"]
    silver = apigw.create_usage_plan(name="silver", apiStages=on_stage)["id"]
    csv = "\n".join(
        [
            "key,NAME,enabled,usageplanids,ignored",
            f"{_value(1)},good,true,{gold},x",  # line 2
            "too-short,short,true,,x",  # line 3
            f"{_value(3)},bad-enabled,yes,,x",  # line 4
            f"{_value(4)},unknown-plan,true,nope42,x",  # line 5
            f"{_value(5)},same-stage,true,'{gold},{silver}',x",  # line 6
            f"{_value(6)},columns,true",  # line 7
            f"{_value(7)},also-good,,,x",  # line 8
        ]
    )

    result = _import(apigw, csv)

    warnings = result["warnings"]
    assert [w.split(":", 1)[0] for w in warnings] == [
        "Line 3",
        "Line 4",
        "Line 5",
        "Line 6",
        "Line 7",
    ]
    assert "between 20 and 128" in warnings[0]
    assert "cannot reference multiple Usage Plans with the same API Stage" in warnings[3]
    names = sorted(k["name"] for k in apigw.get_api_keys()["items"])
    assert names == ["also-good", "good"]
    assert len(result["ids"]) == 2
    also_good = next(k for k in apigw.get_api_keys()["items"] if k["name"] == "also-good")
    assert also_good["enabled"] is True  # Enabled defaults to true
    assert [k["name"] for k in apigw.get_usage_plan_keys(usagePlanId=gold)["items"]] == ["good"]


def test_stage_conflict_with_an_existing_membership(apigw: Any) -> None:
    api_id, stage = ensure_demo_api(apigw)
    on_stage = [{"apiId": api_id, "stage": stage}]
    gold = apigw.create_usage_plan(name="gold", apiStages=on_stage)["id"]
    silver = apigw.create_usage_plan(name="silver", apiStages=on_stage)["id"]
    key = apigw.create_api_key(name="existing", value=_value(9), enabled=True)["id"]
    apigw.create_usage_plan_key(usagePlanId=gold, keyId=key, keyType="API_KEY")

    result = _import(apigw, f"Name,Key,UsagePlanIds\nexisting,{_value(9)},{silver}\n")

    assert result["ids"] == []
    assert "Line 2" in result["warnings"][0]
    assert apigw.get_usage_plan_keys(usagePlanId=silver)["items"] == []


def test_fail_on_warnings_creates_nothing(apigw_no_retry: Any) -> None:
    gold = apigw_no_retry.create_usage_plan(name="gold")["id"]
    csv = f"Name,Key,UsagePlanIds\nok,{_value(1)},{gold}\nbad,short,{gold}\n"

    with pytest.raises(ClientError) as exc:
        _import(apigw_no_retry, csv, fail=True)

    assert exc.value.response["Error"]["Code"] == "BadRequestException"
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert "Line 3" in exc.value.response["Error"]["Message"]
    assert apigw_no_retry.get_api_keys()["items"] == []
    assert apigw_no_retry.get_usage_plan_keys(usagePlanId=gold)["items"] == []

    clean = _import(apigw_no_retry, f"Name,Key\nok,{_value(1)}\n", fail=True)
    assert len(clean["ids"]) == 1


def test_same_value_overwrites_the_previous_version(apigw: Any) -> None:
    existing = apigw.create_api_key(name="old", value=_value(1), enabled=True)["id"]

    result = _import(apigw, f"Name,Key,Enabled\nnew,{_value(1)},false\nnewest,{_value(1)},false\n")

    assert result["ids"] == [existing]
    key = apigw.get_api_key(apiKey=existing)
    assert (key["name"], key["enabled"]) == ("newest", False)
    assert len(apigw.get_api_keys()["items"]) == 1


@pytest.mark.parametrize(
    ("csv", "fmt", "fragment"),
    [
        (f"Key,Description\n{_value(1)},x\n", "csv", "Name"),
        ("", "csv", "empty"),
        (f"Name,Key\na,{_value(1)}\n", "json", "csv"),
    ],
)
def test_unusable_files_are_refused(apigw_no_retry: Any, csv: str, fmt: str, fragment: str) -> None:
    with pytest.raises(ClientError) as exc:
        apigw_no_retry.import_api_keys(body=csv.encode(), format=fmt)
    assert exc.value.response["Error"]["Code"] == "BadRequestException"
    assert fragment in exc.value.response["Error"]["Message"]
    assert apigw_no_retry.get_api_keys()["items"] == []


def test_faults_apply_to_import(apigw_no_retry: Any, control: LocalAwsControl) -> None:
    control.add_fault("ImportApiKeys", status=429, code="TooManyRequestsException")
    with pytest.raises(ClientError) as exc:
        _import(apigw_no_retry, f"Name,Key\na,{_value(1)}\n")
    assert exc.value.response["Error"]["Code"] == "TooManyRequestsException"
    assert apigw_no_retry.get_api_keys()["items"] == []
