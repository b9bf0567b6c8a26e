"""A second account reached through STS AssumeRole (the partner's TollgateAccess role with its
external id): a tier covering a stage there is a usage plan in that account, and its keys are
copies there with the value of the main account's copy."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from keys.models import KeyCopy
from keys.services import key_create, key_revoke
from localaws.demo_estate import MAIN_REGION, PARTNER_ACCOUNT_ID, PARTNER_DOMAIN, DemoEstate
from localaws.testing import LocalAwsControl
from plans.models import Plan, PlanCopy
from plans.services import plan_create, subscription_switch
from plans.stages import stages_discover
from portal.connections.models import AwsConnection
from portal.customers.services import customer_onboard
from portal.sync import SyncStatus
from tests.conftest import make_user
from tests.regions.conftest import (
    GLOBAL_TIER,
    Places,
    discovered,
    key_ids,
    plan_members,
    sha256,
    value_in,
)

pytestmark = pytest.mark.integration

Regional = Callable[[str], Any]


@pytest.fixture
def partner_tier(
    places: Places, partner: AwsConnection, estate: DemoEstate, settle: Callable[..., None]
) -> tuple[Plan, Places]:
    """A tier on the main account's us-east-1 stage and the partner's, once discovery (which
    runs in every connection's regions) found the partner's."""
    assert stages_discover().unreachable == {}
    both = Places(east=places.east, west=places.west, partner=discovered(partner, MAIN_REGION))
    # Discovery read the partner's own API through the role (not the main account's).
    assert both.partner is not None
    assert both.partner.rest_api_id == estate.deployments[2].rest_api_id
    assert both.partner.custom_domain == PARTNER_DOMAIN
    plan = plan_create(
        actor=None,
        data={**GLOBAL_TIER, "name": "Partner reach"},
        stages=[both.east, both.partner],
    )
    settle()
    return Plan.objects.get(pk=plan.pk), both


def test_a_tier_covering_a_partner_stage_is_a_usage_plan_in_the_partner_account(
    partner_tier: tuple[Plan, Places],
    partner: AwsConnection,
    partner_apigw: Any,
    regional: Regional,
    control: LocalAwsControl,
) -> None:
    plan, where = partner_tier
    assert where.partner is not None
    there = PlanCopy.objects.get(plan=plan, connection=partner)
    here = PlanCopy.objects.get(plan=plan, connection__is_default=True)

    assert plan.sync_status == SyncStatus.SYNCED
    assert there.region == MAIN_REGION and there.where == f"Partner · {MAIN_REGION}"
    partner_plans = {p["id"]: p for p in partner_apigw.get_usage_plans()["items"]}
    assert set(partner_plans) == {there.aws_id}
    assert partner_plans[there.aws_id]["apiStages"] == [
        {"apiId": where.partner.rest_api_id, "stage": where.partner.stage_name}
    ]
    main_plans = {p["id"] for p in regional(MAIN_REGION).get_usage_plans()["items"]}
    assert here.aws_id in main_plans and there.aws_id not in main_plans
    # Tollgate reached the partner account through the role, as the journal saw it.
    assert {c["account"] for c in control.calls("CreateUsagePlan")} == {
        "123456789012",
        PARTNER_ACCOUNT_ID,
    }
    partner.refresh_from_db()
    assert partner.account_id == PARTNER_ACCOUNT_ID  # the worker's check of the connection


def test_a_key_on_it_is_a_copy_in_each_account_with_one_value(
    partner_tier: tuple[Plan, Places],
    partner: AwsConnection,
    partner_apigw: Any,
    regional: Regional,
    settle: Callable[..., None],
) -> None:
    plan, _ = partner_tier
    owner = make_user("ana@umbrella.test")
    customer = customer_onboard(owner=owner, organisation_name="Umbrella")
    subscription_switch(actor=None, customer=customer, plan=plan, by_staff=True)
    key = key_create(actor=owner, customer=customer, name="fleet")
    settle()
    key.refresh_from_db()

    there = KeyCopy.objects.get(key=key, connection=partner)
    here = KeyCopy.objects.get(key=key, connection__is_default=True)
    value = value_in(partner_apigw, there.aws_id)
    assert value == value_in(regional(MAIN_REGION), here.aws_id)
    assert key.secret_sha256 == sha256(value)
    partner_copy = PlanCopy.objects.get(plan=plan, connection=partner)
    assert plan_members(partner_apigw, partner_copy.aws_id) == {there.aws_id}
    assert there.aws_id not in key_ids(regional(MAIN_REGION))

    key_revoke(actor=owner, key=key)
    settle()

    assert not KeyCopy.objects.filter(key=key).exists()
    assert key_ids(partner_apigw) == set()
