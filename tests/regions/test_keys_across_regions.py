"""A tier covering us-east-1 and eu-west-1 is a usage plan in each region, and each of its
customers' keys is a copy in each with one value, read back over HTTP from the local AWS."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from keys.models import ApiKey, KeyCopy
from keys.services import key_create, key_revoke
from localaws.demo_estate import EU_REGION, MAIN_REGION
from plans.models import Plan, PlanCopy
from plans.services import subscription_switch
from portal.accounts.models import User
from portal.customers.models import Customer
from portal.customers.services import customer_onboard
from portal.sync import SyncStatus
from tests.conftest import make_user
from tests.regions.conftest import Places, copies, key_ids, plan_members, sha256, value_in

pytestmark = pytest.mark.integration

Regional = Callable[[str], Any]


@pytest.fixture
def owner(region_tiers: dict[str, Plan]) -> User:
    user = make_user("ana@umbrella.test")
    customer_onboard(owner=user, organisation_name="Umbrella")
    return user


@pytest.fixture
def umbrella(owner: User, region_tiers: dict[str, Plan]) -> Customer:
    """Umbrella, placed on Global by an admin."""
    customer = Customer.objects.get(name="Umbrella")
    subscription_switch(actor=None, customer=customer, plan=region_tiers["Global"], by_staff=True)
    return customer


def plan_copy(plan: Plan, region: str) -> PlanCopy:
    return PlanCopy.objects.get(plan=plan, region=region)


def test_a_tier_across_two_regions_is_a_usage_plan_in_each(
    region_tiers: dict[str, Plan], places: Places, regional: Regional
) -> None:
    plan = region_tiers["Global"]
    east, west = plan_copy(plan, MAIN_REGION), plan_copy(plan, EU_REGION)

    assert plan.sync_status == SyncStatus.SYNCED
    assert plan.aws_id == east.aws_id  # the mirror of the copy in its first place
    for copy, stage in ((east, places.east), (west, places.west)):
        assert copy.synced_version == plan.desired_version and copy.error == ""
        found = regional(copy.region).get_usage_plans()["items"]
        mine = [p for p in found if p["id"] == copy.aws_id]
        assert len(mine) == 1, copy.region
        assert mine[0]["name"] == "Global"
        assert mine[0]["apiStages"] == [{"apiId": stage.rest_api_id, "stage": stage.stage_name}]
        assert mine[0]["throttle"] == {"rateLimit": 50.0, "burstLimit": 100}
        assert mine[0]["quota"] == {"limit": 100_000, "offset": 0, "period": "MONTH"}
    # The us-east-1-only tier has no usage plan in eu-west-1.
    assert not PlanCopy.objects.filter(plan=region_tiers["Local"], region=EU_REGION).exists()
    assert {p["name"] for p in regional(EU_REGION).get_usage_plans()["items"]} == {"Global"}


def test_a_key_has_the_same_value_in_both_regions(
    owner: User, umbrella: Customer, region_tiers: dict[str, Plan], regional: Regional, settle: Any
) -> None:
    key = key_create(actor=owner, customer=umbrella, name="fleet")
    settle()
    key.refresh_from_db()

    assert key.sync_status == SyncStatus.SYNCED
    found = copies(key)
    assert set(found) == {MAIN_REGION, EU_REGION}
    east, west = found[MAIN_REGION], found[EU_REGION]
    assert key.aws_id == east.aws_id
    values = {region: value_in(regional(region), c.aws_id) for region, c in found.items()}
    assert values[MAIN_REGION] == values[EU_REGION]
    assert key.secret_sha256 == sha256(values[MAIN_REGION])
    plan = region_tiers["Global"]
    assert plan_members(regional(MAIN_REGION), plan_copy(plan, MAIN_REGION).aws_id) == {east.aws_id}
    assert plan_members(regional(EU_REGION), plan_copy(plan, EU_REGION).aws_id) == {west.aws_id}
    for copy in (east, west):
        assert copy.synced_version == key.desired_version and copy.error == ""


def test_revoking_deletes_both_copies(
    owner: User, umbrella: Customer, regional: Regional, settle: Any
) -> None:
    key = key_create(actor=owner, customer=umbrella, name="fleet")
    settle()
    aws_ids = {region: c.aws_id for region, c in copies(key).items()}
    assert len(aws_ids) == 2

    key_revoke(actor=owner, key=ApiKey.objects.get(pk=key.pk))
    settle()

    assert ApiKey.objects.get(pk=key.pk).sync_status == SyncStatus.SYNCED
    assert not KeyCopy.objects.filter(key=key).exists()
    for region, aws_id in aws_ids.items():
        assert aws_id not in key_ids(regional(region)), region


def test_a_switch_to_a_one_region_tier_and_back_keeps_the_value(
    owner: User, umbrella: Customer, region_tiers: dict[str, Plan], regional: Regional, settle: Any
) -> None:
    key = key_create(actor=owner, customer=umbrella, name="fleet")
    settle()
    before = copies(key)
    value = value_in(regional(MAIN_REGION), before[MAIN_REGION].aws_id)
    local, global_ = region_tiers["Local"], region_tiers["Global"]

    subscription_switch(actor=None, customer=umbrella, plan=local, by_staff=True)
    settle()

    after = copies(key)
    assert set(after) == {MAIN_REGION}
    assert after[MAIN_REGION].aws_id == before[MAIN_REGION].aws_id  # moved, not made again
    assert before[EU_REGION].aws_id not in key_ids(regional(EU_REGION))
    east = regional(MAIN_REGION)
    assert plan_members(east, plan_copy(local, MAIN_REGION).aws_id) == {before[MAIN_REGION].aws_id}
    assert plan_members(east, plan_copy(global_, MAIN_REGION).aws_id) == set()
    assert plan_members(regional(EU_REGION), plan_copy(global_, EU_REGION).aws_id) == set()

    subscription_switch(actor=None, customer=umbrella, plan=global_, by_staff=True)
    settle()

    back = copies(key)
    assert set(back) == {MAIN_REGION, EU_REGION}
    assert back[EU_REGION].aws_id != before[EU_REGION].aws_id  # a new copy there
    assert value_in(regional(EU_REGION), back[EU_REGION].aws_id) == value
    assert plan_members(regional(EU_REGION), plan_copy(global_, EU_REGION).aws_id) == {
        back[EU_REGION].aws_id
    }
    assert ApiKey.objects.get(pk=key.pk).secret_sha256 == sha256(value)
