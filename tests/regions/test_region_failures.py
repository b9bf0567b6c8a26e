"""A fault in one region leaves the other synced; the copy behind says where and why, and the
retry once AWS answers again calls only that region. Faults are injected over HTTP into the
local AWS, scoped to one region (localaws.faults.Fault.region)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from keys.models import ApiKey, KeyCopy
from keys.services import key_create
from localaws.demo_estate import EU_REGION, MAIN_REGION
from localaws.testing import LocalAwsControl
from plans.models import Plan, PlanCopy
from plans.services import plan_create, subscription_switch
from portal.accounts.models import User
from portal.customers.models import Customer
from portal.customers.services import customer_onboard
from portal.sync import SyncStatus
from tests.conftest import make_user, wait_until
from tests.regions.conftest import GLOBAL_TIER, Places, copies, plan_members, sha256, value_in

pytestmark = pytest.mark.integration

Regional = Callable[[str], Any]


@pytest.fixture
def owner(region_tiers: dict[str, Plan]) -> User:
    user = make_user("ana@umbrella.test")
    customer_onboard(owner=user, organisation_name="Umbrella")
    return user


@pytest.fixture
def umbrella(owner: User) -> Customer:
    return Customer.objects.get(name="Umbrella")


def eu_copy_failed(key: ApiKey) -> bool:
    return KeyCopy.objects.filter(key=key, region=EU_REGION).exclude(error="").exists()


def test_a_fault_in_one_region_leaves_the_other_synced_until_the_retry(
    owner: User,
    umbrella: Customer,
    region_tiers: dict[str, Plan],
    control: LocalAwsControl,
    regional: Regional,
    settle: Any,
) -> None:
    control.add_fault(
        "CreateApiKey",
        status=503,
        message="a bad day",
        times=None,
        region=EU_REGION,
    )
    subscription_switch(actor=None, customer=umbrella, plan=region_tiers["Global"], by_staff=True)
    key = key_create(actor=owner, customer=umbrella, name="fleet")

    wait_until(lambda: eu_copy_failed(key), what="the eu-west-1 copy to record its failure")

    key.refresh_from_db()
    found = copies(key)
    east, west = found[MAIN_REGION], found[EU_REGION]
    assert east.synced_version == key.desired_version and east.error == ""
    assert east.aws_id and key.aws_id == east.aws_id
    assert west.synced_version < key.desired_version and west.aws_id == ""
    # The copy behind is the one in eu-west-1 (pages show its `where` beside its error); the
    # key's own message names the place.
    assert west.where == EU_REGION and "a bad day" in west.error
    assert key.sync_status == SyncStatus.PENDING  # retrying, not failed
    assert EU_REGION in key.sync_error and "1 of 2 regions synced" in key.sync_error
    # The fault hit eu-west-1 only: us-east-1's CreateApiKey went through.
    created = control.calls("CreateApiKey")
    assert {(c["region"], c["status"]) for c in created} == {(MAIN_REGION, 201), (EU_REGION, 503)}

    control.clear_faults()
    control.clear_calls()
    settle()

    key.refresh_from_db()
    west = copies(key)[EU_REGION]
    assert key.sync_status == SyncStatus.SYNCED and key.sync_error == ""
    assert west.synced_version == key.desired_version and west.error == ""
    # The retry left us-east-1 alone but for reading the value of the copy there.
    assert {
        (c["region"], c["operation"]) for c in control.calls() if c["region"] == MAIN_REGION
    } == {(MAIN_REGION, "GetApiKey")}
    value = value_in(regional(EU_REGION), west.aws_id)
    assert value == value_in(regional(MAIN_REGION), east.aws_id)
    assert key.secret_sha256 == sha256(value)


def test_a_tier_behind_in_one_region_holds_back_only_the_keys_copies_there(
    places: Places,
    control: LocalAwsControl,
    regional: Regional,
    settle: Any,
) -> None:
    control.add_fault("CreateUsagePlan", status=500, times=None, region=EU_REGION)
    plan = plan_create(
        actor=None, data={**GLOBAL_TIER, "is_default": True}, stages=[places.east, places.west]
    )
    wait_until(
        lambda: PlanCopy.objects.filter(plan=plan, region=EU_REGION).exclude(error="").exists(),
        what="the tier's eu-west-1 copy to record its failure",
    )
    owner = make_user("ana@umbrella.test")
    customer = customer_onboard(owner=owner, organisation_name="Umbrella")
    key = key_create(actor=owner, customer=customer, name="fleet")
    wait_until(
        lambda: KeyCopy.objects.filter(key=key, region=EU_REGION).exclude(error="").exists(),
        what="the key's eu-west-1 copy to wait for the tier",
    )

    east_plan = PlanCopy.objects.get(plan=plan, region=MAIN_REGION)
    assert east_plan.aws_id and east_plan.error == ""
    found = copies(key)
    assert found[MAIN_REGION].aws_id and found[MAIN_REGION].error == ""
    assert plan_members(regional(MAIN_REGION), east_plan.aws_id) == {found[MAIN_REGION].aws_id}
    assert found[EU_REGION].aws_id == ""
    assert "Waiting for the Global tier" in found[EU_REGION].error
    assert EU_REGION in found[EU_REGION].error

    control.clear_faults()
    settle()

    west_plan = PlanCopy.objects.get(plan=plan, region=EU_REGION)
    west_key = copies(key)[EU_REGION]
    assert west_plan.aws_id and west_plan.error == ""
    assert plan_members(regional(EU_REGION), west_plan.aws_id) == {west_key.aws_id}
    assert value_in(regional(EU_REGION), west_key.aws_id) == value_in(
        regional(MAIN_REGION), found[MAIN_REGION].aws_id
    )
