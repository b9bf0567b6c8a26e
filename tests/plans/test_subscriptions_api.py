"""Tier switches through the API (/api/v1/subscription/switch): the services' rules."""

from __future__ import annotations

from typing import Any

from plans.models import ApiStage, Subscription, SubscriptionStatus
from portal.accounts.models import User
from portal.customers.models import Customer
from tests.fixtures.api import api_as
from tests.plans.test_tiers_api import GOLD


def test_a_customer_cannot_switch_to_an_unlisted_tier(
    admin: User, alice: User, acme: Customer, stage: ApiStage, tiers: Any
) -> None:
    api_as(admin).post(
        "/api/v1/tiers", {**GOLD, "name": "Hidden", "listed": False, "stages": [stage.pk]}
    )

    response = api_as(alice).post("/api/v1/subscription/switch", {"tier": "hidden"})

    assert response.status_code == 400
    assert response.json()["errors"] == {"tier": ["That tier is not offered."]}
    assert Subscription.objects.get(customer=acme, status="active").plan.slug == "free"


def test_a_customer_switches_to_a_self_serve_tier(alice: User, acme: Customer, tiers: Any) -> None:
    response = api_as(alice).post("/api/v1/subscription/switch", {"tier": "premium"})

    assert response.status_code == 200
    assert response.json()["tier"] == "premium"
    active = Subscription.objects.get(customer=acme, status=SubscriptionStatus.ACTIVE)
    assert active.plan.slug == "premium"


def test_an_approval_tier_is_refused_with_the_services_message(
    alice: User, acme: Customer, tiers: Any
) -> None:
    response = api_as(alice).post("/api/v1/subscription/switch", {"tier": "enterprise"})

    assert response.status_code == 400
    assert (
        response.json()["detail"]
        == "The Enterprise tier needs approval: an owner requests it on the Tier page "
        "(or POST /api/v1/tier-requests)."
    )
    assert Subscription.objects.get(customer=acme, status="active").plan.slug == "free"


def test_switch_refuses_an_unknown_tier_and_the_current_one(alice: User, tiers: Any) -> None:
    client = api_as(alice)
    assert client.post("/api/v1/subscription/switch", {"tier": "nope"}).json()["errors"] == {
        "tier": ["That tier is not offered."]
    }
    response = client.post("/api/v1/subscription/switch", {"tier": "free"})
    assert response.json()["detail"] == "You are already on the Free tier."
