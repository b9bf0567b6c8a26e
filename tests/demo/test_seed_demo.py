"""manage.py seed_demo against the demo estate (localaws/demo_estate.py, what `make demo`'s
local AWS serves): the connections cover the three places, the usual tiers stay in the main
account's us-east-1, Global covers all three and its customers' keys are a copy in each with
one value; a second run adds nothing."""

from __future__ import annotations

import datetime
import io
from collections.abc import Callable
from typing import Any

import pytest
from django.core.management import call_command

from demo.management.commands import seed_demo
from demo.management.commands.seed_demo import CUSTOMERS, GLOBAL_TIER, PARTNER, TIERS
from demo.traffic_aws import EveryPlace, HttpSender
from demo.traffic_plan import Call
from keys.models import ApiKey, KeyCopy
from localaws.demo_estate import (
    EU_REGION,
    MAIN_REGION,
    PARTNER_ACCOUNT_ID,
    DemoEstate,
    assume_partner_role,
    client,
    ensure_demo_estate,
)
from localaws.server import LocalAwsServer
from localaws.testing import LocalAwsControl
from plans.models import ApiStage, Plan, PlanCopy, Subscription
from portal.connections.models import AwsConnection
from portal.sync import SyncStatus
from tests.regions.conftest import _fresh_aws_sessions  # noqa: F401 - autouse: no stale role

pytestmark = pytest.mark.integration


@pytest.fixture(autouse=True)
def _password_unlike_the_external_id(monkeypatch: pytest.MonkeyPatch) -> None:
    """The demo's password is the partner role's external id, "tollgate-demo", which botocore
    logs in its AssumeRole request (an external id is no secret): the leak check
    (tests/secret_leaks.py) would take that for the password."""
    monkeypatch.setattr(seed_demo, "DEMO_PASSWORD", "seeded-by-a-test")


@pytest.fixture
def estate(local_aws: LocalAwsServer, control: LocalAwsControl) -> DemoEstate:
    return ensure_demo_estate(local_aws.endpoint_url)


def seed() -> str:
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def counts() -> dict[str, int]:
    return {
        model.__name__: model.objects.count()
        for model in (AwsConnection, ApiStage, Plan, PlanCopy, ApiKey, KeyCopy, Subscription)
    }


def test_the_demo_spans_two_regions_and_two_accounts(
    worker: Any,
    estate: DemoEstate,
    local_aws: LocalAwsServer,
    settle: Callable[..., None],
) -> None:
    output = seed()
    settle(60)

    default = AwsConnection.objects.get(is_default=True)
    partner = AwsConnection.objects.get(name=PARTNER["name"])
    assert default.regions == [MAIN_REGION, EU_REGION]
    assert (partner.role_arn, partner.regions) == (PARTNER["role_arn"], [MAIN_REGION])
    stages = {(s.connection_id, s.region): s for s in ApiStage.objects.all()}
    assert set(stages) == {
        (default.pk, MAIN_REGION),
        (default.pk, EU_REGION),
        (partner.pk, MAIN_REGION),
    }
    assert {s.rest_api_id for s in stages.values()} == {d.rest_api_id for d in estate.deployments}
    home = stages[(default.pk, MAIN_REGION)]
    for spec in TIERS:
        assert list(Plan.objects.get(name=spec["name"]).stages.all()) == [home]
    global_tier = Plan.objects.get(name=GLOBAL_TIER["name"])
    assert set(global_tier.stages.all()) == set(stages.values())
    assert global_tier.sync_status == SyncStatus.SYNCED
    assert global_tier.copies.exclude(aws_id="").count() == 3

    on_global = [org for org, _, tier, _ in CUSTOMERS if tier == GLOBAL_TIER["name"]]
    assert len(on_global) >= 2
    keys = list(ApiKey.objects.live().filter(customer__name__in=on_global))
    assert len(keys) >= 2
    main = {
        region: client(local_aws.endpoint_url, "apigateway", region)
        for region in (MAIN_REGION, EU_REGION)
    }
    partner_apigw = client(
        local_aws.endpoint_url,
        "apigateway",
        credentials=assume_partner_role(local_aws.endpoint_url),
    )
    for key in keys:
        assert key.sync_status == SyncStatus.SYNCED, key.sync_error
        values = set()
        for copy in key.copies.all():
            apigw = partner_apigw if copy.connection_id == partner.pk else main[copy.region]
            values.add(apigw.get_api_key(apiKey=copy.aws_id, includeValue=True)["value"])
        assert key.copies.count() == 3 and len(values) == 1, key.name
    assert "Tier Global: " in output and f"Partner · {MAIN_REGION}" in output
    assert partner_apigw.get_api_keys()["items"]  # the keys are in the partner account
    assert {k["id"] for k in partner_apigw.get_api_keys()["items"]} == {
        c.aws_id for c in KeyCopy.objects.filter(connection=partner)
    }
    partner.refresh_from_db()
    assert partner.account_id == PARTNER_ACCOUNT_ID
    # The simulated month's metrics of the partner's stage are in the partner's CloudWatch.
    now = datetime.datetime.now(datetime.UTC)
    window: dict[str, Any] = {
        "Namespace": "AWS/ApiGateway",
        "MetricName": "Count",
        "Dimensions": [
            {"Name": "ApiName", "Value": stages[(partner.pk, MAIN_REGION)].api_name},
            {"Name": "Stage", "Value": stages[(partner.pk, MAIN_REGION)].stage_name},
        ],
        "StartTime": now - datetime.timedelta(days=31),
        "EndTime": now,
        "Period": 86400,
        "Statistics": ["Sum"],
    }
    partner_cw = client(
        local_aws.endpoint_url,
        "cloudwatch",
        credentials=assume_partner_role(local_aws.endpoint_url),
    )
    assert sum(p["Sum"] for p in partner_cw.get_metric_statistics(**window)["Datapoints"]) > 0

    before = counts()
    seed()
    settle(60)
    assert counts() == before


def test_the_demo_traffic_calls_each_copy_of_a_global_key_at_its_places_domain(
    worker: Any, estate: DemoEstate, local_aws: LocalAwsServer, settle: Callable[..., None]
) -> None:
    seed()
    settle(60)
    global_keys = ApiKey.objects.live().filter(
        customer__name__in=[org for org, _, tier, _ in CUSTOMERS if tier == GLOBAL_TIER["name"]]
    )
    aws_ids = set(KeyCopy.objects.filter(key__in=global_keys).values_list("aws_id", flat=True))

    found = [key for key in EveryPlace(local_aws.endpoint_url)() if key.key_id in aws_ids]

    assert {key.key_id for key in found} == aws_ids  # every copy, in all three places
    hosts: dict[str, set[str]] = {}
    for key in found:
        hosts.setdefault(key.value, set()).add(key.address.host)
    assert len(hosts) == global_keys.count()
    assert all(places == {d.domain for d in estate.deployments} for places in hosts.values()), hosts
    send = HttpSender(local_aws.endpoint_url)
    for key in found:
        status, body = send(
            Call("GET", key.address.host, f"{key.address.prefix}/status", key.value)
        )
        assert status == 200, (key.name, body)
