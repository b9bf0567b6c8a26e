"""A tier covering the demo API's stage in us-east-1 and in eu-west-1 of one account, and a
customer's key on it, synced to the local AWS: what the usage, extra-quota and rotation tests
across regions share (import `world_fixture` into a test module for the `world` fixture)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from keys.models import ApiKey, KeyCopy
from keys.services import key_create
from localaws.demo_api import ensure_demo_api
from localaws.demo_estate import EU_REGION, MAIN_REGION, client
from localaws.server import LocalAwsServer
from localaws.testing import LocalAwsControl
from plans.models import ApiStage, Plan, PlanCopy
from plans.services import plan_create
from plans.stages import stage_set_available, stages_discover
from portal.accounts.models import User
from portal.connections.models import AwsConnection
from portal.customers.models import Customer
from portal.customers.services import customer_onboard
from tests.conftest import PREMIUM, make_user

REGIONS = (MAIN_REGION, EU_REGION)
# 100,000 requests a month per key, in each region (a usage plan in each).
GLOBAL: dict[str, Any] = {**PREMIUM, "name": "Global", "is_default": True, "monthly_price": None}


@dataclass(frozen=True)
class World:
    connection: AwsConnection
    plan: Plan
    owner: User
    customer: Customer
    key: ApiKey
    apigw: dict[str, Any]  # boto3 API Gateway client by region

    def plan_id(self, region: str) -> str:
        return PlanCopy.objects.get(plan=self.plan, region=region).aws_id

    def key_id(self, region: str, key: ApiKey | None = None) -> str:
        return KeyCopy.objects.get(key=key or self.key, region=region).aws_id

    def remaining(self, region: str, day: str, key: ApiKey | None = None) -> int:
        """What API Gateway in `region` says the key has left (GetUsage)."""
        key_id = self.key_id(region, key)
        found = self.apigw[region].get_usage(
            usagePlanId=self.plan_id(region), keyId=key_id, startDate=day, endDate=day
        )
        return int(found["items"][key_id][-1][1])


@pytest.fixture(name="world")
def world_fixture(
    worker: Any, local_aws: LocalAwsServer, control: LocalAwsControl, settle: Callable[..., None]
) -> World:
    connection = AwsConnection.objects.create(
        name="Default", is_default=True, regions=list(REGIONS)
    )
    apigw = {region: client(local_aws.endpoint_url, "apigateway", region) for region in REGIONS}
    for region_client in apigw.values():
        ensure_demo_api(region_client)
    assert stages_discover().unreachable == {}
    stages = [
        stage_set_available(actor=None, stage=stage, available=True)
        for stage in ApiStage.objects.filter(connection=connection).order_by("region")
    ]
    assert sorted(stage.region for stage in stages) == sorted(REGIONS)
    plan = plan_create(actor=None, data=dict(GLOBAL), stages=stages)
    owner = make_user("ana@umbrella.test")
    customer = customer_onboard(owner=owner, organisation_name="Umbrella")
    key = key_create(actor=owner, customer=customer, name="production")
    settle(60)
    plan.refresh_from_db()
    key.refresh_from_db()
    assert {c.region for c in KeyCopy.objects.filter(key=key).exclude(aws_id="")} == set(REGIONS)
    return World(connection, plan, owner, customer, key, apigw)
