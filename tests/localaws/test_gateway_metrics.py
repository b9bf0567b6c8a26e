"""The gateway meters what it served into CloudWatch (AWS/ApiGateway, ApiName + Stage), where
GetMetricData through boto3 reads it - aggregated per minute, not one datapoint per request."""

from __future__ import annotations

from typing import Any

import pytest
from moto.cloudwatch.models import cloudwatch_backends
from moto.core import DEFAULT_ACCOUNT_ID

from localaws.server import LocalAwsServer
from tests.localaws.conftest import REGION
from tests.localaws.gateway_setup import Invoker, Method, create_api, keyed_plan, metric_sums

pytestmark = pytest.mark.integration


def test_counts_errors_and_latencies_reach_get_metric_data(
    apigw: Any, cloudwatch: Any, local_aws: LocalAwsServer
) -> None:
    api_id = create_api(apigw, [Method("/items"), Method("/broken", responses=())], name="Shop")
    _, key = keyed_plan(apigw, [{"apiId": api_id, "stage": "prod"}])
    invoker = Invoker(local_aws, api_id)

    ok = invoker.statuses(12, "/items", key["value"])
    forbidden = invoker.statuses(5, "/items")
    missing = invoker.statuses(2, "/nowhere")
    broken = invoker.statuses(1, "/broken", key["value"])
    assert set(ok) == {200} and set(forbidden + missing) == {403} and broken == [500]

    sums = metric_sums(cloudwatch, "Shop")

    assert sums["Count Sum"] == sums["Count SampleCount"] == 20
    assert sums["4XXError Sum"] == 7
    assert sums["4XXError Average"] == pytest.approx(7 / 20)
    assert sums["5XXError Sum"] == 1
    assert sums["Latency SampleCount"] == 20
    assert sums["Latency p99"] > 0
    assert sums["IntegrationLatency SampleCount"] == 13  # only requests that reached it


def test_another_stage_and_unknown_stages_are_metered_apart(
    apigw: Any, cloudwatch: Any, local_aws: LocalAwsServer
) -> None:
    api_id = create_api(apigw, [Method("/open", key_required=False)], stages=("prod", "beta"))

    Invoker(local_aws, api_id, "prod").statuses(3, "/open")
    Invoker(local_aws, api_id, "beta").statuses(2, "/open")
    Invoker(local_aws, api_id, "gone").statuses(4, "/open")

    assert metric_sums(cloudwatch, "Shop", "prod")["Count Sum"] == 3
    assert metric_sums(cloudwatch, "Shop", "beta")["Count Sum"] == 2
    assert metric_sums(cloudwatch, "Shop", "gone") == {}


def test_requests_are_stored_as_per_minute_statistic_sets(
    apigw: Any, cloudwatch: Any, local_aws: LocalAwsServer
) -> None:
    api_id = create_api(apigw, [Method("/open", key_required=False)])
    Invoker(local_aws, api_id).statuses(200, "/open")

    assert metric_sums(cloudwatch, "Shop")["Count Sum"] == 200
    stored = cloudwatch_backends[DEFAULT_ACCOUNT_ID][REGION].metric_data
    counts = [d for d in stored if d.name == "Count"]
    assert 1 <= len(counts) <= 2  # one set per minute (two if the minute turned meanwhile)
    # One datapoint per metric per request would be 1,000. Count, 4XXError and 5XXError are one
    # set a minute; the two latencies one set per distinct value rounded to 2 significant
    # digits, which a loaded machine spreads wider (109 seen), so the bound is generous.
    assert len(stored) < 300
