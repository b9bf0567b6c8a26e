"""Fault injection and the call journal, driven over HTTP like another process would."""

from __future__ import annotations

import datetime
import time
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, ReadTimeoutError

from localaws.server import LocalAwsServer
from localaws.testing import LocalAwsControl

pytestmark = pytest.mark.integration


def test_throttle_code_is_parsed_by_botocore(apigw_no_retry: Any, control: LocalAwsControl) -> None:
    control.add_fault(
        "CreateUsagePlan", status=429, code="TooManyRequestsException", message="Too Many Requests"
    )

    with pytest.raises(ClientError) as exc:
        apigw_no_retry.create_usage_plan(name="gold")

    assert exc.value.response["Error"] == {
        "Code": "TooManyRequestsException",
        "Message": "Too Many Requests",
    } | {k: v for k, v in exc.value.response["Error"].items() if k not in ("Code", "Message")}
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 429
    assert apigw_no_retry.get_usage_plans()["items"] == []
    apigw_no_retry.create_usage_plan(name="gold")  # times=1: the next call succeeds


def test_botocore_retries_through_a_throttle(apigw: Any, control: LocalAwsControl) -> None:
    control.add_fault("CreateApiKey", status=429, code="TooManyRequestsException", times=2)

    apigw.create_api_key(name="k")

    assert [c["status"] for c in control.calls("CreateApiKey")] == [429, 429, 201]


def test_after_apply_writes_but_fails(apigw_no_retry: Any, control: LocalAwsControl) -> None:
    control.add_fault("CreateApiKey", status=500, code="InternalFailure", after_apply=True)

    with pytest.raises(ClientError) as exc:
        apigw_no_retry.create_api_key(name="ghost")

    assert exc.value.response["Error"]["Code"] == "InternalFailure"
    assert [k["name"] for k in apigw_no_retry.get_api_keys()["items"]] == ["ghost"]


def test_times_none_fails_until_cleared(apigw_no_retry: Any, control: LocalAwsControl) -> None:
    control.add_fault("GetApiKeys", status=503, code="ServiceUnavailable", times=None)
    for _ in range(3):
        with pytest.raises(ClientError):
            apigw_no_retry.get_api_keys()
    control.clear_faults()
    assert apigw_no_retry.get_api_keys()["items"] == []


def test_wildcard_share_one_hits_everything(apigw_no_retry: Any, control: LocalAwsControl) -> None:
    control.add_fault("*", status=429, code="TooManyRequestsException", share=1.0)
    with pytest.raises(ClientError):
        apigw_no_retry.get_rest_apis()
    with pytest.raises(ClientError):
        apigw_no_retry.get_usage_plans()
    control.clear_faults()


def test_delay_causes_client_timeout(local_aws: LocalAwsServer, control: LocalAwsControl) -> None:
    client = boto3.client(
        "apigateway",
        region_name="us-east-1",
        endpoint_url=local_aws.endpoint_url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(read_timeout=0.3, retries={"total_max_attempts": 1}),
    )
    control.add_fault("GetUsagePlans", status=None, delay_seconds=1.0)
    started = time.monotonic()
    with pytest.raises(ReadTimeoutError):
        client.get_usage_plans()
    assert time.monotonic() - started < 1.0
    time.sleep(0.8)  # let the delayed request finish before the next test resets


def test_cloudwatch_errors_parse(cloudwatch: Any, control: LocalAwsControl) -> None:
    control.add_fault(
        "GetMetricData", status=400, code="InvalidParameterValue", message="bad period"
    )
    now = datetime.datetime.now(datetime.UTC)

    with pytest.raises(ClientError) as exc:
        cloudwatch.get_metric_data(
            MetricDataQueries=[
                {
                    "Id": "q",
                    "MetricStat": {
                        "Metric": {"Namespace": "AWS/ApiGateway", "MetricName": "Count"},
                        "Period": 60,
                        "Stat": "Sum",
                    },
                }
            ],
            StartTime=now - datetime.timedelta(hours=1),
            EndTime=now,
        )

    assert exc.value.response["Error"]["Code"] == "InvalidParameterValue"
    assert exc.value.response["Error"]["Message"] == "bad period"


def test_journal_counts_calls_per_operation(
    apigw: Any, cloudwatch: Any, control: LocalAwsControl
) -> None:
    apigw.create_api_key(name="a")
    apigw.get_api_keys()
    apigw.get_api_keys()
    cloudwatch.put_metric_data(Namespace="Tollgate", MetricData=[{"MetricName": "m", "Value": 1}])

    calls = control.calls()
    assert [c["operation"] for c in calls] == [
        "CreateApiKey",
        "GetApiKeys",
        "GetApiKeys",
        "PutMetricData",
    ]
    assert calls[-1]["service"] == "monitoring"
    assert calls[0]["monotonic"] <= calls[-1]["monotonic"]
    assert len(control.calls("GetApiKeys")) == 2

    control.clear_calls()
    assert control.calls() == []


def test_reset_wipes_state_faults_and_journal(apigw: Any, control: LocalAwsControl) -> None:
    apigw.create_api_key(name="a")
    control.add_fault("GetApiKeys", status=500, times=None)

    control.reset()

    assert control.calls() == []
    assert apigw.get_api_keys()["items"] == []
