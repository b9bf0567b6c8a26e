"""Where a tier lives: its places (account and region), in order, and how its quota is worded
for customers when it runs in several (plans.locations)."""

from __future__ import annotations

import pytest
from django.test import Client

from plans.locations import place_labels, quota_scope_words, tier_locations
from plans.models import ApiStage, Plan, PlanCopy
from plans.services import plan_create
from portal.accounts.models import User
from portal.connections.models import AwsConnection
from tests.conftest import FREE, login

pytestmark = pytest.mark.django_db

ROLE = "arn:aws:iam::222222222222:role/TollgateAccess"


@pytest.fixture
def places() -> dict[str, ApiStage]:
    default = AwsConnection.objects.create(
        name="Default", regions=["us-east-1", "eu-west-1"], is_default=True
    )
    partner = AwsConnection.objects.create(
        name="Partner", role_arn=ROLE, regions=["us-east-1"], account_id="222222222222"
    )

    def stage(connection: AwsConnection, region: str, api: str) -> ApiStage:
        return ApiStage.objects.create(
            connection=connection,
            region=region,
            rest_api_id=api,
            stage_name="prod",
            api_name="Weather API",
            available=True,
        )

    return {
        "eu": stage(default, "eu-west-1", "eu1"),
        "us": stage(default, "us-east-1", "us1"),
        "partner": stage(partner, "us-east-1", "pa1"),
    }


def test_a_tier_lives_in_each_account_and_region_of_its_stages_home_first(
    places: dict[str, ApiStage],
) -> None:
    tier = plan_create(actor=None, data=dict(FREE), stages=list(places.values()))
    found = [
        (place.location.label, [s.rest_api_id for s in place.stages])
        for place in tier_locations(tier)
    ]
    assert found == [
        ("us-east-1", ["us1"]),
        ("eu-west-1", ["eu1"]),
        ("Partner · us-east-1", ["pa1"]),
    ]
    assert tier_locations(tier)[2].location.budget_scope == "222222222222/us-east-1"


def test_a_tier_without_stages_lives_in_the_home_region(places: dict[str, ApiStage]) -> None:
    tier = plan_create(actor=None, data=dict(FREE), stages=[places["eu"]])
    tier.stages.clear()  # a tier adopted from a usage plan without stages
    [place] = tier_locations(tier)
    assert (place.location.label, place.stages) == ("us-east-1", ())


def test_customers_read_the_quota_as_counted_per_region(places: dict[str, ApiStage]) -> None:
    tier = plan_create(actor=None, data=dict(FREE), stages=list(places.values()))
    stages = list(tier.stages.select_related("connection"))
    assert place_labels(stages) == ["eu-west-1", "us-east-1 (Default)", "us-east-1 (Partner)"]
    words = quota_scope_words(tier, stages)
    assert words.startswith(f"{tier.quota_words} in each of its 3 regions")
    assert "each region counts its own requests" in words
    assert quota_scope_words(tier, [places["us"]]) == ""


def test_the_pricing_page_says_how_the_quota_applies_across_regions(
    places: dict[str, ApiStage],
) -> None:
    plan_create(actor=None, data=dict(FREE), stages=[places["us"], places["eu"]])
    page = Client().get("/pricing/").content.decode()
    assert "in each of its 2 regions (eu-west-1, us-east-1)" in page


def test_the_tier_list_shows_each_usage_plan_and_whether_it_is_behind(
    places: dict[str, ApiStage], admin: User
) -> None:
    tier = plan_create(actor=None, data=dict(FREE), stages=[places["us"], places["partner"]])
    default, partner = places["us"].connection, places["partner"].connection
    PlanCopy.objects.create(
        plan=tier,
        connection=default,
        region="us-east-1",
        aws_id="up1",
        synced_version=tier.desired_version,
    )
    PlanCopy.objects.create(
        plan=tier, connection=partner, region="us-east-1", error="AWS answered AccessDenied"
    )
    page = login(admin).get("/console/tiers/").content.decode()
    assert "up1" in page and "in sync" in page
    assert "Partner · us-east-1" in page and "222222222222" in page
    assert "AWS answered AccessDenied" in page
    assert Plan.objects.get(pk=tier.pk).stages.count() == 2
