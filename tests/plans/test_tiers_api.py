"""Tiers through the API (/api/v1/tiers): the console's services, and what customers see."""

from __future__ import annotations

from typing import Any

from plans.models import ApiStage, Plan
from portal.accounts.models import User
from portal.customers.models import Customer
from tests.fixtures.api import api_as

GOLD = {
    "name": "Gold",
    "description": "Lots",
    "throttle_rate": "20.5",
    "throttle_burst": 40,
    "quota_limit": 50000,
    "quota_period": "MONTH",
    "monthly_price": "99.00",
}


def test_an_admin_creates_a_tier(admin: User, stage: ApiStage, tiers: Any) -> None:
    response = api_as(admin).post("/api/v1/tiers", {**GOLD, "stages": [stage.pk]})

    assert response.status_code == 201
    body = response.json()
    assert (body["slug"], body["throttle_rate"], body["stages"]) == ("gold", "20.50", [stage.pk])
    assert body["sync"]["status"] == "pending"
    assert Plan.objects.get(slug="gold").quota_limit == 50000


def test_it_refuses_a_bad_tier_field_by_field(admin: User, stage: ApiStage, tiers: Any) -> None:
    response = api_as(admin).post(
        "/api/v1/tiers",
        {
            **GOLD,
            "name": "Free",
            "throttle_rate": "20000",
            "quota_offset": 60000,
            "stages": [stage.pk],
        },
    )

    assert response.status_code == 400
    errors = response.json()["errors"]
    assert errors["name"] == ["Another tier already has this name."]
    assert errors["throttle_rate"] == [
        "API Gateway allows at most 10,000 requests per second per account."
    ]
    assert errors["quota_offset"] == [
        "The offset must be smaller than the quota, or the first period allows nothing."
    ]
    assert not Plan.objects.filter(name="Gold").exists()


def test_it_refuses_an_unknown_stage(admin: User, tiers: Any) -> None:
    response = api_as(admin).post("/api/v1/tiers", {**GOLD, "stages": [999]})

    assert response.status_code == 400
    assert response.json()["errors"] == {"stages": ['Invalid pk "999" - object does not exist.']}


def test_a_change_that_changes_nothing_sends_nothing(admin: User, tiers: Any) -> None:
    premium = tiers["Premium"]
    response = api_as(admin).patch("/api/v1/tiers/premium", {"throttle_rate": "50"})

    assert response.status_code == 200
    premium.refresh_from_db()
    assert premium.desired_version == 1

    response = api_as(admin).patch("/api/v1/tiers/premium", {"throttle_rate": "60"})
    premium.refresh_from_db()
    assert (response.json()["throttle_rate"], premium.desired_version) == ("60.00", 2)


def test_archive_refuses_a_tier_with_customers(admin: User, alice: User, tiers: Any) -> None:
    response = api_as(admin).post("/api/v1/tiers/free/archive")

    assert response.status_code == 400
    assert response.json()["detail"] == (
        "This is the default tier for new customers; make another tier the default first."
    )
    ok = api_as(admin).post("/api/v1/tiers/enterprise/archive")
    assert ok.status_code == 200
    assert ok.json()["archived_at"] is not None


def test_a_customer_sees_the_listed_tiers_and_its_own(
    admin: User, alice: User, acme: Customer, stage: ApiStage, tiers: Any
) -> None:
    """plans.selectors.tiers_visible_to: what /pricing/ and /app/tier/ show, approval-required
    tiers included, plus the customer's own tier even when it is not listed."""
    partner = api_as(admin).post(
        "/api/v1/tiers",
        {**GOLD, "name": "Partner", "self_serve": False, "listed": False, "stages": [stage.pk]},
    )
    assert (partner.status_code, partner.json()["listed"]) == (201, False)
    client = api_as(alice)

    slugs = [t["slug"] for t in client.get("/api/v1/tiers").json()["results"]]
    assert sorted(slugs) == ["enterprise", "free", "premium"]
    enterprise = client.get("/api/v1/tiers/enterprise")
    assert enterprise.status_code == 200
    assert (enterprise.json()["aws_id"], enterprise.json()["sync"]) == ("", None)
    assert client.get("/api/v1/tiers/partner").status_code == 404

    api_as(admin).post("/api/v1/subscription/switch", {"tier": "partner", "customer": acme.pk})
    slugs = [t["slug"] for t in client.get("/api/v1/tiers").json()["results"]]
    assert sorted(slugs) == ["enterprise", "free", "partner", "premium"]
    assert client.get("/api/v1/tiers/partner").json()["listed"] is False


def test_listed_defaults_to_true_and_can_be_changed(
    admin: User, stage: ApiStage, tiers: Any
) -> None:
    created = api_as(admin).post("/api/v1/tiers", {**GOLD, "stages": [stage.pk]}).json()
    assert created["listed"] is True

    response = api_as(admin).patch("/api/v1/tiers/gold", {"listed": False})
    assert (response.status_code, response.json()["listed"]) == (200, False)
    assert Plan.objects.get(slug="gold").listed is False
    refused = api_as(admin).patch("/api/v1/tiers/free", {"listed": False})
    assert refused.status_code == 400
    assert refused.json()["errors"] == {
        "is_default": ["The default tier must be listed: new customers see the tier they are on."]
    }


def test_a_tier_s_method_throttles_are_created_changed_and_read(
    admin: User, alice: User, stage: ApiStage, tiers: Any
) -> None:
    forecast = {"stage": stage.pk, "method": "GET /forecast", "rate": "5", "burst": 10}
    response = api_as(admin).post(
        "/api/v1/tiers", {**GOLD, "stages": [stage.pk], "method_throttles": [forecast]}
    )

    assert response.status_code == 201
    assert response.json()["method_throttles"] == [
        {
            "stage": stage.pk,
            "method": "GET /forecast",
            "resource_path": "/forecast",
            "http_method": "GET",
            "rate": "5.00",
            "burst": 10,
        }
    ]
    gold = Plan.objects.get(slug="gold")
    assert gold.method_throttles.get().method_key == "/forecast/GET"

    # A PATCH without them leaves them be.
    response = api_as(admin).patch("/api/v1/tiers/gold", {"description": "More"})
    assert [t["method"] for t in response.json()["method_throttles"]] == ["GET /forecast"]

    # The model's own shape works too, and replaces the whole set.
    cities = {
        "stage": stage.pk,
        "resource_path": "/cities/{id}",
        "http_method": "post",
        "rate": "2.5",
        "burst": 4,
    }
    response = api_as(admin).patch("/api/v1/tiers/gold", {"method_throttles": [cities]})
    assert response.status_code == 200
    assert [(t["method"], t["rate"]) for t in response.json()["method_throttles"]] == [
        ("POST /cities/{id}", "2.50")
    ]
    gold.refresh_from_db()
    assert gold.desired_version == 3  # each change of limits reaches API Gateway

    # Everyone who can see the tier reads them.
    read = api_as(alice).get("/api/v1/tiers/gold").json()
    assert read["method_throttles"][0]["method"] == "POST /cities/{id}"

    response = api_as(admin).patch("/api/v1/tiers/gold", {"method_throttles": []})
    assert response.json()["method_throttles"] == []
    assert not gold.method_throttles.exists()


def test_a_bad_method_throttle_is_refused_by_row_and_field(
    admin: User, stage: ApiStage, tiers: Any
) -> None:
    rows = [
        {"stage": stage.pk, "method": "GET /forecast", "rate": "5", "burst": 10},
        {"stage": stage.pk, "method": "GET /alerts", "rate": "60", "burst": 10},
    ]
    response = api_as(admin).patch("/api/v1/tiers/premium", {"method_throttles": rows})

    assert response.status_code == 400
    body = response.json()
    assert body["errors"] == {
        "method_throttles.1.rate": ["A method's rate cannot be above the tier's (50 req/s)."]
    }
    assert body["detail"] == (
        "method_throttles.1.rate: A method's rate cannot be above the tier's (50 req/s)."
    )
    assert not tiers["Premium"].method_throttles.exists()

    response = api_as(admin).patch(
        "/api/v1/tiers/premium",
        {"method_throttles": [{"stage": stage.pk, "method": "forecast", "rate": "1"}]},
    )
    assert response.status_code == 400
    assert response.json()["errors"] == {
        "method_throttles.0.burst": ["This field is required."],
        "method_throttles.0.method": [
            "Write the method as API Gateway does, e.g. “GET /forecast”."
        ],
    }
