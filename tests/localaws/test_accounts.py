"""Two accounts on one local AWS: what one account creates, the other never sees.

Account B (222222222222) is reached as Tollgate reaches a customer's account: the main
account's credentials assume ``TollgateAccess`` with the external id (``localaws.demo_estate``).
"""

from __future__ import annotations

import datetime
from typing import Any

import pytest
import requests

from localaws.demo_estate import (
    PARTNER_ACCOUNT_ID,
    assume_partner_role,
    client,
    ensure_partner_role,
)
from localaws.server import LocalAwsServer
from localaws.testing import LocalAwsControl

pytestmark = pytest.mark.integration

MAIN = "123456789012"
NOW = datetime.datetime.now(datetime.UTC).replace(second=0, microsecond=0)


@pytest.fixture
def partner(local_aws: LocalAwsServer, control: LocalAwsControl) -> dict[str, str]:
    """Credentials of account B, from AssumeRole."""
    ensure_partner_role(local_aws.endpoint_url)
    return assume_partner_role(local_aws.endpoint_url)


def _utc_today() -> str:
    """Today as the local AWS counts it, read when the test runs: the module's NOW is taken
    at collection, and a suite that crosses midnight UTC would ask about yesterday."""
    return datetime.datetime.now(datetime.UTC).date().isoformat()


def clients(server: LocalAwsServer, service: str, partner: dict[str, str]) -> tuple[Any, Any]:
    """(main account client, account B client) of ``service`` in us-east-1."""
    url = server.endpoint_url
    return client(url, service), client(url, service, credentials=partner)


def test_the_assumed_credentials_act_in_the_partner_account(
    local_aws: LocalAwsServer, partner: dict[str, str]
) -> None:
    main, other = clients(local_aws, "sts", partner)

    assert main.get_caller_identity()["Account"] == MAIN
    identity = other.get_caller_identity()
    assert identity["Account"] == PARTNER_ACCOUNT_ID
    assert identity["Arn"] == (
        f"arn:aws:sts::{PARTNER_ACCOUNT_ID}:assumed-role/TollgateAccess/tollgate-demo"
    )


def test_usage_plans_and_keys_are_invisible_across_accounts(
    local_aws: LocalAwsServer, partner: dict[str, str]
) -> None:
    a, b = clients(local_aws, "apigateway", partner)
    plan_b = b.create_usage_plan(name="b-gold", quota={"limit": 100, "period": "DAY"})["id"]
    key_b = b.create_api_key(name="b-customer", value="b" * 40, enabled=True)["id"]
    b.create_usage_plan_key(usagePlanId=plan_b, keyId=key_b, keyType="API_KEY")
    plan_a = a.create_usage_plan(name="a-gold")["id"]
    key_a = a.create_api_key(name="a-customer", value="a" * 40)["id"]

    assert [p["name"] for p in a.get_usage_plans()["items"]] == ["a-gold"]
    assert [p["name"] for p in b.get_usage_plans()["items"]] == ["b-gold"]
    assert [k["id"] for k in a.get_api_keys()["items"]] == [key_a]
    assert [k["id"] for k in b.get_api_keys()["items"]] == [key_b]
    with pytest.raises(a.exceptions.NotFoundException):
        a.get_usage_plan(usagePlanId=plan_b)
    with pytest.raises(b.exceptions.NotFoundException):
        b.get_api_key(apiKey=key_a)
    # Our own layers look in the caller's account too: joining B's key to A's plan is
    # "no such key" in A (plan_keys), and GetUsage of B's plan is 404 in A (usage).
    with pytest.raises(a.exceptions.NotFoundException):
        a.create_usage_plan_key(usagePlanId=plan_a, keyId=key_b, keyType="API_KEY")
    today = _utc_today()
    with pytest.raises(a.exceptions.NotFoundException):
        a.get_usage(usagePlanId=plan_b, startDate=today, endDate=today)
    assert [k["id"] for k in b.get_usage_plan_keys(usagePlanId=plan_b)["items"]] == [key_b]


def test_usage_is_kept_per_account(
    local_aws: LocalAwsServer, control: LocalAwsControl, partner: dict[str, str]
) -> None:
    """The same plan and key ids in two accounts keep separate counters."""
    a, b = clients(local_aws, "apigateway", partner)
    plan_b = b.create_usage_plan(name="b", quota={"limit": 100, "period": "DAY"})["id"]
    key_b = b.create_api_key(name="b", enabled=True)["id"]
    b.create_usage_plan_key(usagePlanId=plan_b, keyId=key_b, keyType="API_KEY")
    today = _utc_today()

    control.set_usage(plan_b, key_b, today, 7, account=PARTNER_ACCOUNT_ID)
    control.set_usage(plan_b, key_b, today, 3)  # the main account's counter of the same ids

    usage = b.get_usage(usagePlanId=plan_b, startDate=today, endDate=today)["items"]
    assert usage == {key_b: [[7, 93]]}
    counter = f"{local_aws.endpoint_url}/_localaws/usage"
    ids = {"usagePlanId": plan_b, "keyId": key_b, "date": today}
    assert requests.get(counter, params=ids, timeout=10).json() == {"used": 3}
    partner_ids = ids | {"account": PARTNER_ACCOUNT_ID}
    assert requests.get(counter, params=partner_ids, timeout=10).json() == {"used": 7}
    b.update_usage(
        usagePlanId=plan_b,
        keyId=key_b,
        patchOperations=[{"op": "replace", "path": "/remaining", "value": "50"}],
    )
    usage = b.get_usage(usagePlanId=plan_b, startDate=today, endDate=today)["items"]
    assert usage == {key_b: [[7, 50]]}


def _count(cloudwatch: Any, name: str) -> float:
    stats = cloudwatch.get_metric_statistics(
        Namespace="Tollgate/Test",
        MetricName=name,
        StartTime=NOW - datetime.timedelta(minutes=5),
        EndTime=NOW + datetime.timedelta(minutes=5),
        Period=600,
        Statistics=["Sum"],
    )["Datapoints"]
    return sum(float(p["Sum"]) for p in stats)


def _data(cloudwatch: Any, name: str) -> list[float]:
    result = cloudwatch.get_metric_data(
        MetricDataQueries=[
            {
                "Id": "m",
                "MetricStat": {
                    "Metric": {"Namespace": "Tollgate/Test", "MetricName": name},
                    "Period": 600,
                    "Stat": "Sum",
                },
            }
        ],
        StartTime=NOW - datetime.timedelta(minutes=5),
        EndTime=NOW + datetime.timedelta(minutes=5),
    )["MetricDataResults"]
    return [float(v) for v in result[0]["Values"]]


def test_metrics_are_kept_per_account(local_aws: LocalAwsServer, partner: dict[str, str]) -> None:
    a, b = clients(local_aws, "cloudwatch", partner)
    b.put_metric_data(
        Namespace="Tollgate/Test",
        MetricData=[{"MetricName": "Calls", "Timestamp": NOW, "Value": 5.0}],
    )
    a.put_metric_data(
        Namespace="Tollgate/Test",
        MetricData=[{"MetricName": "Calls", "Timestamp": NOW, "Value": 2.0}],
    )

    assert _count(b, "Calls") == 5.0
    assert _count(a, "Calls") == 2.0
    assert _data(b, "Calls") == [5.0]
    assert _data(a, "Calls") == [2.0]
    names = [m["MetricName"] for m in b.list_metrics(Namespace="Tollgate/Test")["Metrics"]]
    assert names == ["Calls"]
