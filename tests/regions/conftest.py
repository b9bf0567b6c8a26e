"""The demo estate (localaws/demo_estate.py) as Tollgate sees it through its connections: the
default connection in us-east-1 and eu-west-1 of the main account, a "Partner" connection
assuming the partner account's role, and the stages discovery finds in each place."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from keys.models import ApiKey, KeyCopy
from localaws.demo_estate import (
    EU_REGION,
    MAIN_REGION,
    PARTNER_EXTERNAL_ID,
    PARTNER_ROLE_ARN,
    DemoEstate,
    assume_partner_role,
    client,
    ensure_demo_estate,
)
from localaws.server import LocalAwsServer
from localaws.testing import LocalAwsControl
from plans.models import ApiStage, Plan
from plans.services import plan_create
from plans.stages import stage_set_available, stages_discover
from portal.aws import clients
from portal.connections.models import AwsConnection
from portal.connections.services import connection_create, connection_default, connection_update
from tests.conftest import FREE, PREMIUM

# Two tiers as a seller would set them: the usual one in the home region, and one that also
# serves Europe.
LOCAL_TIER: dict[str, Any] = {**FREE, "name": "Local"}
GLOBAL_TIER: dict[str, Any] = {**PREMIUM, "name": "Global"}


@dataclass(frozen=True)
class Places:
    """The demo API's stage in each place discovery found it, by place."""

    east: ApiStage
    west: ApiStage
    partner: ApiStage | None = None


@pytest.fixture(autouse=True)
def _fresh_aws_sessions() -> Iterator[None]:
    """Every thread's cached clients and sessions forgotten, the worker's too (reset_clients
    only empties the calling thread's): the partner role's credentials come from an STS the
    last test's reset wiped, and the local AWS takes keys it never issued for the main
    account's, so a cached session would reach the main account in the partner's name."""
    clients._local = threading.local()
    yield
    clients._local = threading.local()


@pytest.fixture
def estate(local_aws: LocalAwsServer, control: LocalAwsControl) -> DemoEstate:
    return ensure_demo_estate(local_aws.endpoint_url)


@pytest.fixture
def regional(local_aws: LocalAwsServer) -> Callable[[str], Any]:
    """A plain boto3 API Gateway client of the main account in a region (no limiter)."""
    return lambda region: client(local_aws.endpoint_url, "apigateway", region)


@pytest.fixture
def partner_apigw(local_aws: LocalAwsServer, estate: DemoEstate) -> Any:
    """API Gateway of the partner account, with the credentials its role hands out."""
    credentials = assume_partner_role(local_aws.endpoint_url)
    return client(local_aws.endpoint_url, "apigateway", MAIN_REGION, credentials)


def cover_both_regions() -> AwsConnection:
    default = connection_default()
    return connection_update(
        actor=None,
        connection=default,
        name=default.name,
        role_arn=default.role_arn,
        external_id=default.external_id,
        regions=[MAIN_REGION, EU_REGION],
    )


def discovered(connection: AwsConnection | None, region: str) -> ApiStage:
    """The one stage discovery found there, offered to tiers."""
    default = connection_default()
    connection_id = connection.pk if connection is not None else default.pk
    stage = ApiStage.objects.get(connection_id=connection_id, region=region)
    return stage_set_available(actor=None, stage=stage, available=True)


@pytest.fixture
def places(worker: Any, estate: DemoEstate) -> Places:
    """The default connection in both regions; the demo API's stage in each, offered."""
    cover_both_regions()
    result = stages_discover()
    assert result.unreachable == {}
    return Places(east=discovered(None, MAIN_REGION), west=discovered(None, EU_REGION))


@pytest.fixture
def partner(worker: Any, estate: DemoEstate) -> AwsConnection:
    return connection_create(
        actor=None,
        name="Partner",
        role_arn=PARTNER_ROLE_ARN,
        external_id=PARTNER_EXTERNAL_ID,
        regions=[MAIN_REGION],
    )


@pytest.fixture
def region_tiers(places: Places, settle: Callable[..., None]) -> dict[str, Plan]:
    """Local (us-east-1 only, the default tier) and Global (us-east-1 and eu-west-1), synced."""
    made = {
        "Local": plan_create(actor=None, data=dict(LOCAL_TIER), stages=[places.east]),
        "Global": plan_create(
            actor=None, data=dict(GLOBAL_TIER), stages=[places.east, places.west]
        ),
    }
    settle()
    return {name: Plan.objects.get(pk=plan.pk) for name, plan in made.items()}


def copies(key: ApiKey) -> dict[str, KeyCopy]:
    """The key's copies by region (one account in these tests)."""
    return {copy.region: copy for copy in KeyCopy.objects.filter(key=key)}


def value_in(apigw: Any, aws_id: str) -> str:
    value: str = apigw.get_api_key(apiKey=aws_id, includeValue=True)["value"]
    return value


def sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def key_ids(apigw: Any) -> set[str]:
    return {item["id"] for item in apigw.get_api_keys()["items"]}


def plan_members(apigw: Any, usage_plan_id: str) -> set[str]:
    items = apigw.get_usage_plan_keys(usagePlanId=usage_plan_id)["items"]
    return {item["id"] for item in items}
