"""GetUsage / UpdateUsage over the usage store, and the control endpoint that fills it."""

from __future__ import annotations

import datetime
import json
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from moto.moto_api._internal.models import moto_api_backend

from localaws.server import LocalAwsServer
from localaws.testing import LocalAwsControl, start_local_aws
from localaws.usage import period_start, usage_store, utc_today
from tests.localaws.conftest import make_client

pytestmark = pytest.mark.integration


def _plan_with_key(apigw: Any, quota: dict[str, Any] | None = None, keys: int = 1) -> Any:
    kwargs: dict[str, Any] = {"name": "gold"}
    if quota is not None:
        kwargs["quota"] = quota
    plan = apigw.create_usage_plan(**kwargs)["id"]
    ids = []
    for i in range(keys):
        key = apigw.create_api_key(name=f"k{i}", enabled=True)["id"]
        apigw.create_usage_plan_key(usagePlanId=plan, keyId=key, keyType="API_KEY")
        ids.append(key)
    return plan, ids


def test_daily_used_and_remaining_within_a_day_quota(apigw: Any, control: LocalAwsControl) -> None:
    plan, (key,) = _plan_with_key(apigw, {"limit": 1000, "period": "DAY"})
    control.set_usage(plan, key, "2025-03-01", 120)
    control.set_usage(plan, key, "2025-03-03", 999)
    control.set_usage(plan, key, "2025-03-03", 40)  # sets, does not add

    usage = apigw.get_usage(usagePlanId=plan, startDate="2025-03-01", endDate="2025-03-04")

    assert usage["usagePlanId"] == plan
    assert (usage["startDate"], usage["endDate"]) == ("2025-03-01", "2025-03-04")
    assert usage["items"] == {key: [[120, 880], [0, 1000], [40, 960], [0, 1000]]}
    assert "position" not in usage
    assert [c["operation"] for c in control.calls("GetUsage")] == ["GetUsage"]


def test_remaining_counts_down_through_month_and_week_periods(
    apigw: Any, control: LocalAwsControl
) -> None:
    month, (mkey,) = _plan_with_key(apigw, {"limit": 100, "period": "MONTH"})
    week, (wkey,) = _plan_with_key(apigw, {"limit": 100, "period": "WEEK"})
    # 2025-01-30 Thu .. 2025-02-02 Sun: a month boundary and a week boundary (Sunday).
    for day, used in [("2025-01-30", 10), ("2025-01-31", 20), ("2025-02-01", 5)]:
        control.set_usage(month, mkey, day, used)
        control.set_usage(week, wkey, day, used)
    control.set_usage(week, wkey, "2025-02-02", 7)

    got_month = apigw.get_usage(usagePlanId=month, startDate="2025-01-30", endDate="2025-02-02")
    got_week = apigw.get_usage(usagePlanId=week, startDate="2025-01-30", endDate="2025-02-02")

    assert got_month["items"][mkey] == [[10, 90], [20, 70], [5, 95], [0, 95]]
    assert got_week["items"][wkey] == [[10, 90], [20, 70], [5, 65], [7, 93]]


def test_offset_applies_in_the_period_the_plan_was_created(
    apigw: Any, control: LocalAwsControl
) -> None:
    plan, (key,) = _plan_with_key(apigw, {"limit": 100, "offset": 30, "period": "MONTH"})
    today = utc_today()
    before = period_start(today, "MONTH") - datetime.timedelta(days=1)
    control.set_usage(plan, key, today.isoformat(), 5)

    now = apigw.get_usage(usagePlanId=plan, startDate=today.isoformat(), endDate=today.isoformat())
    earlier = apigw.get_usage(
        usagePlanId=plan, startDate=before.isoformat(), endDate=before.isoformat()
    )

    assert now["items"][key] == [[5, 65]]
    assert earlier["items"][key] == [[0, 100]]


def test_plan_without_quota_reports_zero_remaining(apigw: Any, control: LocalAwsControl) -> None:
    plan, (key,) = _plan_with_key(apigw)
    control.set_usage(plan, key, "2025-05-05", 12)
    usage = apigw.get_usage(usagePlanId=plan, startDate="2025-05-05", endDate="2025-05-05")
    assert usage["items"] == {key: [[12, 0]]}


def test_paging_over_keys(apigw: Any, control: LocalAwsControl) -> None:
    plan, keys = _plan_with_key(apigw, {"limit": 10, "period": "DAY"}, keys=30)
    control.set_usage_bulk(
        [
            {"usagePlanId": plan, "keyId": k, "date": "2025-06-01", "used": i}
            for i, k in enumerate(keys)
        ]
    )

    first = apigw.get_usage(usagePlanId=plan, startDate="2025-06-01", endDate="2025-06-01")
    assert len(first["items"]) == 25  # default limit
    assert "position" in first
    pages = list(
        apigw.get_paginator("get_usage").paginate(
            usagePlanId=plan,
            startDate="2025-06-01",
            endDate="2025-06-01",
            PaginationConfig={"PageSize": 7},
        )
    )
    assert [len(p["items"]) for p in pages] == [7, 7, 7, 7, 2]
    merged = {k: v for p in pages for k, v in p["items"].items()}
    assert merged == {k: [[i, max(0, 10 - i)]] for i, k in enumerate(keys)}

    only = apigw.get_usage(
        usagePlanId=plan, startDate="2025-06-01", endDate="2025-06-01", keyId=keys[3]
    )
    assert only["items"] == {keys[3]: [[3, 7]]}


@pytest.mark.parametrize(
    ("plan", "start", "end", "status", "code"),
    [
        ("missing", "2025-01-01", "2025-01-02", 404, "NotFoundException"),
        (None, "2025-01-02", "2025-01-01", 400, "BadRequestException"),
        (None, "2025-01-01", "2025-04-02", 400, "BadRequestException"),
        (None, "01/01/2025", "2025-01-02", 400, "BadRequestException"),
    ],
)
def test_get_usage_errors(
    apigw_no_retry: Any, plan: str | None, start: str, end: str, status: int, code: str
) -> None:
    real, _ = _plan_with_key(apigw_no_retry, {"limit": 5, "period": "DAY"})
    with pytest.raises(ClientError) as exc:
        apigw_no_retry.get_usage(usagePlanId=plan or real, startDate=start, endDate=end)
    assert exc.value.response["Error"]["Code"] == code
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == status


def test_ninety_day_range_is_accepted(apigw: Any) -> None:
    plan, (key,) = _plan_with_key(apigw, {"limit": 5, "period": "DAY"})
    usage = apigw.get_usage(usagePlanId=plan, startDate="2025-01-01", endDate="2025-04-01")
    assert len(usage["items"][key]) == 91


def test_update_usage_replaces_remaining_from_today(apigw: Any, control: LocalAwsControl) -> None:
    plan, (key,) = _plan_with_key(apigw, {"limit": 1000, "period": "MONTH"})
    today = utc_today()
    start = period_start(today, "MONTH")
    control.set_usage(plan, key, today.isoformat(), 100)

    result = apigw.update_usage(
        usagePlanId=plan,
        keyId=key,
        patchOperations=[{"op": "replace", "path": "/remaining", "value": "5000"}],
    )

    assert (result["startDate"], result["endDate"]) == (start.isoformat(), today.isoformat())
    assert result["items"][key][-1] == [100, 5000]
    assert all(pair == [0, 1000] for pair in result["items"][key][:-1])
    control.set_usage(plan, key, today.isoformat(), 150)  # later use still counts
    usage = apigw.get_usage(
        usagePlanId=plan, startDate=today.isoformat(), endDate=today.isoformat()
    )
    assert usage["items"][key] == [[150, 4950]]
    assert [c["operation"] for c in control.calls("UpdateUsage")] == ["UpdateUsage"]


@pytest.mark.parametrize(
    ("quota", "op", "code"),
    [
        (
            {"limit": 10, "period": "DAY"},
            {"op": "add", "path": "/remaining", "value": "1"},
            "BadRequestException",
        ),
        (
            {"limit": 10, "period": "DAY"},
            {"op": "replace", "path": "/remaining", "value": "-1"},
            "BadRequestException",
        ),
        (None, {"op": "replace", "path": "/remaining", "value": "1"}, "BadRequestException"),
    ],
)
def test_update_usage_refusals(
    apigw_no_retry: Any, quota: dict[str, Any] | None, op: dict[str, str], code: str
) -> None:
    plan, (key,) = _plan_with_key(apigw_no_retry, quota)
    with pytest.raises(ClientError) as exc:
        apigw_no_retry.update_usage(usagePlanId=plan, keyId=key, patchOperations=[op])
    assert exc.value.response["Error"]["Code"] == code


def test_update_usage_needs_a_key_of_the_plan(apigw_no_retry: Any) -> None:
    plan, _ = _plan_with_key(apigw_no_retry, {"limit": 10, "period": "DAY"})
    stranger = apigw_no_retry.create_api_key(name="stranger")["id"]
    with pytest.raises(ClientError) as exc:
        apigw_no_retry.update_usage(
            usagePlanId=plan,
            keyId=stranger,
            patchOperations=[{"op": "replace", "path": "/remaining", "value": "1"}],
        )
    assert exc.value.response["Error"]["Code"] == "NotFoundException"


def test_faults_apply_to_usage_operations(apigw_no_retry: Any, control: LocalAwsControl) -> None:
    plan, _ = _plan_with_key(apigw_no_retry, {"limit": 10, "period": "DAY"})
    control.add_fault("GetUsage", status=429, code="TooManyRequestsException")
    with pytest.raises(ClientError) as exc:
        apigw_no_retry.get_usage(usagePlanId=plan, startDate="2025-01-01", endDate="2025-01-01")
    assert exc.value.response["Error"]["Code"] == "TooManyRequestsException"


def _post(url: str, payload: Any) -> tuple[int, Any]:
    request = urllib.request.Request(
        url,
        data=json.dumps(payload).encode(),
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_control_endpoint_validates_and_python_api_matches(
    local_aws: LocalAwsServer, control: LocalAwsControl
) -> None:
    url = local_aws.endpoint_url + "/_localaws/usage"
    good = {"usagePlanId": "p", "keyId": "k", "date": "2025-01-01", "used": 3}
    assert _post(url, [good, good | {"date": "2025-01-02", "used": 4}]) == (
        200,
        {"status": "ok", "count": 2},
    )
    assert usage_store.used("p", "k", datetime.date(2025, 1, 2)) == 4
    for bad in [good | {"used": -1}, good | {"date": "yesterday"}, {"keyId": "k"}, [good, 5]]:
        status, body = _post(url, bad)
        assert status == 400, bad
        assert "error" in body
    usage_store.set_used("p", "k", "2025-01-03", 9)
    with urllib.request.urlopen(url + "?usagePlanId=p&keyId=k&date=2025-01-03") as response:
        assert json.loads(response.read()) == {"used": 9}
    control.reset()
    assert usage_store.used("p", "k", datetime.date(2025, 1, 3)) == 0


def test_usage_survives_restart(tmp_path: Path, control: LocalAwsControl) -> None:
    state = tmp_path / "state.pickle"
    server = start_local_aws(state_file=state)
    apigw = make_client(server.endpoint_url, "apigateway")
    plan, (key,) = _plan_with_key(apigw, {"limit": 50, "period": "DAY"})
    LocalAwsControl(server.endpoint_url).set_usage(plan, key, "2025-02-02", 20)
    server.stop()
    moto_api_backend.reset()
    usage_store.reset()  # what a process restart does to our memory

    server = start_local_aws(state_file=state)
    try:
        apigw = make_client(server.endpoint_url, "apigateway")
        usage = apigw.get_usage(usagePlanId=plan, startDate="2025-02-02", endDate="2025-02-02")
        assert usage["items"] == {key: [[20, 30]]}
    finally:
        server.stop()
