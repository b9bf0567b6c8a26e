"""Two regions keep apart what they hold; the demo estate (two regions of the main account and
a partner account) is built idempotently, answers at its three custom domains, and survives a
restart with both accounts."""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

import pytest
import requests
from moto.moto_api._internal.models import moto_api_backend

from localaws.demo_api import DEMO_API_NAME, DEMO_DOMAIN
from localaws.demo_estate import (
    EU_DOMAIN,
    PARTNER_ACCOUNT_ID,
    PARTNER_DOMAIN,
    assume_partner_role,
    client,
    ensure_demo_estate,
    ensure_partner_role,
)
from localaws.server import LocalAwsServer
from localaws.testing import LocalAwsControl, start_local_aws

pytestmark = pytest.mark.integration

MAIN = "123456789012"


def test_regions_are_isolated(local_aws: LocalAwsServer, control: LocalAwsControl) -> None:
    east = client(local_aws.endpoint_url, "apigateway", "us-east-1")
    west = client(local_aws.endpoint_url, "apigateway", "eu-west-1")
    plan = west.create_usage_plan(name="eu-gold", quota={"limit": 10, "period": "DAY"})["id"]
    key = west.create_api_key(name="eu-customer", value="e" * 40, enabled=True)["id"]
    west.create_usage_plan_key(usagePlanId=plan, keyId=key, keyType="API_KEY")
    today = datetime.datetime.now(datetime.UTC).date().isoformat()
    control.set_usage(plan, key, today, 4, region="eu-west-1")

    assert east.get_usage_plans()["items"] == []
    assert east.get_api_keys()["items"] == []
    with pytest.raises(east.exceptions.NotFoundException):
        east.get_usage(usagePlanId=plan, startDate=today, endDate=today)
    usage = west.get_usage(usagePlanId=plan, startDate=today, endDate=today)["items"]
    assert usage == {key: [[4, 6]]}

    east_cw = client(local_aws.endpoint_url, "cloudwatch", "us-east-1")
    west_cw = client(local_aws.endpoint_url, "cloudwatch", "eu-west-1")
    now = datetime.datetime.now(datetime.UTC)
    west_cw.put_metric_data(
        Namespace="Tollgate/Test", MetricData=[{"MetricName": "Calls", "Value": 1.0}]
    )
    window = {
        "Namespace": "Tollgate/Test",
        "MetricName": "Calls",
        "StartTime": now - datetime.timedelta(minutes=5),
        "EndTime": now + datetime.timedelta(minutes=5),
        "Period": 600,
        "Statistics": ["SampleCount"],
    }
    assert east_cw.get_metric_statistics(**window)["Datapoints"] == []
    assert [p["SampleCount"] for p in west_cw.get_metric_statistics(**window)["Datapoints"]] == [1]


def _status(server: LocalAwsServer, host: str) -> requests.Response:
    return requests.get(f"{server.endpoint_url}/v1/status", headers={"Host": host}, timeout=10)


def test_the_demo_estate_is_idempotent_and_served_at_three_domains(
    local_aws: LocalAwsServer, control: LocalAwsControl
) -> None:
    first = ensure_demo_estate(local_aws.endpoint_url)
    second = ensure_demo_estate(local_aws.endpoint_url)

    assert first == second
    where = [(d.account_id, d.region, d.domain) for d in first.deployments]
    assert where == [
        (MAIN, "us-east-1", DEMO_DOMAIN),
        (MAIN, "eu-west-1", EU_DOMAIN),
        (PARTNER_ACCOUNT_ID, "us-east-1", PARTNER_DOMAIN),
    ]
    partner = client(
        local_aws.endpoint_url,
        "apigateway",
        credentials=assume_partner_role(local_aws.endpoint_url),
    )
    for apigw, deployment in (
        (client(local_aws.endpoint_url, "apigateway", "us-east-1"), first.deployments[0]),
        (client(local_aws.endpoint_url, "apigateway", "eu-west-1"), first.deployments[1]),
        (partner, first.deployments[2]),
    ):
        apis = apigw.get_rest_apis()["items"]
        assert [(a["id"], a["name"]) for a in apis] == [(deployment.rest_api_id, DEMO_API_NAME)]
        assert [d["domainName"] for d in apigw.get_domain_names()["items"]] == [deployment.domain]

    for domain in (DEMO_DOMAIN, EU_DOMAIN, PARTNER_DOMAIN):
        response = _status(local_aws, domain)
        assert response.status_code == 200, domain
        assert response.json()["status"] == "ok"
    assert _status(local_aws, "nowhere.tollgate.localhost").status_code != 200  # no such domain


def test_gateway_keys_and_metrics_stay_in_the_apis_account(
    local_aws: LocalAwsServer, control: LocalAwsControl
) -> None:
    """A key of the partner account opens the partner's API only; each API's requests are
    metered into its own account's CloudWatch and usage."""
    estate = ensure_demo_estate(local_aws.endpoint_url)
    partner_api = estate.deployments[2]
    credentials = assume_partner_role(local_aws.endpoint_url)
    partner = client(local_aws.endpoint_url, "apigateway", credentials=credentials)
    plan = partner.create_usage_plan(
        name="partner-gold",
        apiStages=[{"apiId": partner_api.rest_api_id, "stage": partner_api.stage_name}],
    )["id"]
    key = partner.create_api_key(name="p", value="p" * 40, enabled=True)["id"]
    partner.create_usage_plan_key(usagePlanId=plan, keyId=key, keyType="API_KEY")

    def forecast(host: str) -> int:
        return requests.get(
            f"{local_aws.endpoint_url}/v1/cities",
            headers={"Host": host, "x-api-key": "p" * 40},
            timeout=10,
        ).status_code

    assert [forecast(PARTNER_DOMAIN) for _ in range(3)] == [200, 200, 200]
    assert forecast(DEMO_DOMAIN) == 403  # the main account knows no such key
    today = datetime.datetime.now(datetime.UTC).date().isoformat()
    usage = partner.get_usage(usagePlanId=plan, startDate=today, endDate=today)["items"]
    assert usage[key][0][0] == 3

    now = datetime.datetime.now(datetime.UTC)
    window: dict[str, Any] = {
        "Namespace": "AWS/ApiGateway",
        "MetricName": "Count",
        "Dimensions": [
            {"Name": "ApiName", "Value": DEMO_API_NAME},
            {"Name": "Stage", "Value": "prod"},
        ],
        "StartTime": now - datetime.timedelta(minutes=5),
        "EndTime": now + datetime.timedelta(minutes=5),
        "Period": 600,
        "Statistics": ["Sum"],
    }
    partner_cw = client(local_aws.endpoint_url, "cloudwatch", credentials=credentials)
    main_cw = client(local_aws.endpoint_url, "cloudwatch")
    assert [p["Sum"] for p in partner_cw.get_metric_statistics(**window)["Datapoints"]] == [3]
    assert [p["Sum"] for p in main_cw.get_metric_statistics(**window)["Datapoints"]] == [1]


def test_state_with_two_accounts_survives_restart(tmp_path: Path, control: LocalAwsControl) -> None:
    state = tmp_path / "state.pickle"
    server = start_local_aws(state_file=state)
    ensure_partner_role(server.endpoint_url)
    credentials = assume_partner_role(server.endpoint_url)
    partner = client(server.endpoint_url, "apigateway", credentials=credentials)
    plan = partner.create_usage_plan(name="partner-gold")["id"]
    main_plan = client(server.endpoint_url, "apigateway").create_usage_plan(name="main")["id"]
    client(server.endpoint_url, "cloudwatch", credentials=credentials).put_metric_data(
        Namespace="Tollgate/Test", MetricData=[{"MetricName": "Calls", "Value": 2.0}]
    )
    server.stop()
    moto_api_backend.reset()  # what a process restart does to moto's memory

    server = start_local_aws(state_file=state)
    try:
        # The credentials AssumeRole issued before the restart still act in the partner account.
        partner = client(server.endpoint_url, "apigateway", credentials=credentials)
        assert [p["id"] for p in partner.get_usage_plans()["items"]] == [plan]
        main = client(server.endpoint_url, "apigateway")
        assert [p["id"] for p in main.get_usage_plans()["items"]] == [main_plan]
        sts = client(server.endpoint_url, "sts", credentials=credentials)
        assert sts.get_caller_identity()["Account"] == PARTNER_ACCOUNT_ID
        now = datetime.datetime.now(datetime.UTC)
        data = client(server.endpoint_url, "cloudwatch", credentials=credentials).get_metric_data(
            MetricDataQueries=[
                {
                    "Id": "m",
                    "MetricStat": {
                        "Metric": {"Namespace": "Tollgate/Test", "MetricName": "Calls"},
                        "Period": 600,
                        "Stat": "Sum",
                    },
                }
            ],
            StartTime=now - datetime.timedelta(minutes=5),
            EndTime=now + datetime.timedelta(minutes=5),
        )["MetricDataResults"]
        assert data[0]["Values"] == [2.0]
    finally:
        server.stop()
