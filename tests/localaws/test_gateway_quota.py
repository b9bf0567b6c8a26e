"""Quotas and usage at the gateway: what it admits is what GetUsage reports, and the other way
round - one store, one period arithmetic (localaws.usage)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from moto.moto_api._internal.models import moto_api_backend

from localaws.server import LocalAwsServer
from localaws.testing import LocalAwsControl, start_local_aws
from localaws.usage import usage_store, utc_today
from tests.localaws.conftest import REGION, make_client
from tests.localaws.gateway_setup import (
    FakeClock,
    Invoker,
    Method,
    create_api,
    keyed_plan,
    metric_sums,
)

pytestmark = pytest.mark.integration

LIMIT_EXCEEDED = {"message": "Limit Exceeded"}


@pytest.fixture
def api(apigw: Any) -> str:
    return create_api(apigw, [Method("/items"), Method("/health", key_required=False)])


@pytest.fixture
def invoker(local_aws: LocalAwsServer, api: str) -> Invoker:
    return Invoker(local_aws, api)


def usage_today(apigw: Any, plan_id: str, key_id: str) -> list[int]:
    today = utc_today().isoformat()
    values = apigw.get_usage(usagePlanId=plan_id, startDate=today, endDate=today)["items"]
    return list(values[key_id][0])


def test_a_used_up_day_quota_answers_limit_exceeded(apigw: Any, api: str, invoker: Invoker) -> None:
    plan_id, key = keyed_plan(
        apigw, [{"apiId": api, "stage": "prod"}], quota={"limit": 3, "period": "DAY"}
    )

    assert invoker.statuses(3, "/items", key["value"]) == [200, 200, 200]
    refused = invoker.get("/items", key["value"])
    assert refused.status_code == 429
    assert refused.json() == LIMIT_EXCEEDED
    assert refused.headers["x-amzn-ErrorType"] == "LimitExceededException"
    assert usage_today(apigw, plan_id, key["id"]) == [3, 0]


def test_get_usage_reports_what_the_gateway_counted(apigw: Any, api: str, invoker: Invoker) -> None:
    plan_id, key = keyed_plan(
        apigw, [{"apiId": api, "stage": "prod"}], quota={"limit": 100, "period": "MONTH"}
    )

    invoker.statuses(7, "/items", key["value"])
    invoker.statuses(3, "/health", key["value"])  # not key-protected: not metered

    assert usage_today(apigw, plan_id, key["id"]) == [7, 93]  # a new plan: nothing before today


def test_an_update_usage_extension_admits_again(apigw: Any, api: str, invoker: Invoker) -> None:
    plan_id, key = keyed_plan(
        apigw, [{"apiId": api, "stage": "prod"}], quota={"limit": 2, "period": "WEEK"}
    )
    assert invoker.statuses(3, "/items", key["value"]) == [200, 200, 429]

    apigw.update_usage(
        usagePlanId=plan_id,
        keyId=key["id"],
        patchOperations=[{"op": "replace", "path": "/remaining", "value": "2"}],
    )

    assert invoker.statuses(3, "/items", key["value"]) == [200, 200, 429]
    assert usage_today(apigw, plan_id, key["id"]) == [4, 0]


def test_the_plans_offset_lowers_the_first_periods_quota(
    apigw: Any, api: str, invoker: Invoker
) -> None:
    _, key = keyed_plan(
        apigw,
        [{"apiId": api, "stage": "prod"}],
        quota={"limit": 5, "offset": 3, "period": "MONTH"},
    )

    assert invoker.statuses(3, "/items", key["value"]) == [200, 200, 429]


def test_usage_set_through_the_control_endpoint_counts_against_the_quota(
    apigw: Any, api: str, invoker: Invoker
) -> None:
    plan_id, key = keyed_plan(
        apigw, [{"apiId": api, "stage": "prod"}], quota={"limit": 10, "period": "DAY"}
    )
    usage_store.set_used(plan_id, key["id"], utc_today(), 9, region=REGION)

    assert invoker.statuses(2, "/items", key["value"]) == [200, 429]


def test_throttled_requests_are_not_counted(
    apigw: Any,
    api: str,
    invoker: Invoker,
    local_aws: LocalAwsServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert local_aws.app is not None
    monkeypatch.setattr(local_aws.app.gateway.buckets, "clock", FakeClock())
    plan_id, key = keyed_plan(
        apigw,
        [{"apiId": api, "stage": "prod"}],
        throttle={"rateLimit": 1, "burstLimit": 2},
        quota={"limit": 10, "period": "DAY"},
    )

    assert invoker.statuses(5, "/items", key["value"]) == [200, 200, 429, 429, 429]
    assert usage_today(apigw, plan_id, key["id"]) == [2, 8]


def test_requests_the_integration_fails_are_counted(apigw: Any, local_aws: LocalAwsServer) -> None:
    broken = create_api(apigw, [Method("/broken", responses=())], name="Broken")
    plan_id, key = keyed_plan(apigw, [{"apiId": broken, "stage": "prod"}])

    assert Invoker(local_aws, broken).statuses(2, "/broken", key["value"]) == [500, 500]
    assert usage_today(apigw, plan_id, key["id"]) == [2, 0]


def test_metered_usage_and_metrics_survive_a_restart(
    tmp_path: Path, control: LocalAwsControl
) -> None:
    state = tmp_path / "state.pickle"
    server = start_local_aws(state_file=state)
    apigw = make_client(server.endpoint_url, "apigateway")
    api_id = create_api(apigw, [Method("/items")])
    plan_id, key = keyed_plan(
        apigw, [{"apiId": api_id, "stage": "prod"}], quota={"limit": 5, "period": "DAY"}
    )
    assert Invoker(server, api_id).statuses(3, "/items", key["value"]) == [200] * 3
    server.stop()
    moto_api_backend.reset()
    usage_store.reset()  # what a process restart does to our memory

    server = start_local_aws(state_file=state)
    try:
        apigw = make_client(server.endpoint_url, "apigateway")
        assert usage_today(apigw, plan_id, key["id"]) == [3, 2]
        assert Invoker(server, api_id).statuses(3, "/items", key["value"]) == [200, 200, 429]
        cloudwatch = make_client(server.endpoint_url, "cloudwatch")
        assert metric_sums(cloudwatch, "Shop")["Count Sum"] == 6
    finally:
        server.stop()


def test_concurrent_clients_get_exactly_the_quota(
    apigw: Any, api: str, local_aws: LocalAwsServer
) -> None:
    plan_id, key = keyed_plan(
        apigw, [{"apiId": api, "stage": "prod"}], quota={"limit": 50, "period": "DAY"}
    )

    def client(_: int) -> list[int]:
        return Invoker(local_aws, api).statuses(20, "/items", key["value"])

    with ThreadPoolExecutor(4) as pool:
        statuses = [status for batch in pool.map(client, range(4)) for status in batch]

    assert (statuses.count(200), statuses.count(429)) == (50, 30)
    assert usage_today(apigw, plan_id, key["id"]) == [50, 0]
