"""A customer switches between self-serve tiers; approval tiers stay out of reach."""

from __future__ import annotations

from django.urls import reverse

from keys.models import ApiKey
from keys.services import key_create
from plans.models import Plan, Subscription
from plans.services import plan_archive
from portal.accounts.models import User
from portal.customers.models import Customer
from tests.conftest import login


def active_tier(customer: Customer) -> str:
    return Subscription.objects.get(customer=customer, status="active").plan.name


def test_it_shows_the_tiers_with_the_current_one(alice: User, tiers: dict[str, Plan]) -> None:
    page = login(alice).get(reverse("app:tier")).content.decode()
    assert "Your tier" in page
    assert "Switch to Premium" in page
    assert "Needs approval" in page  # Enterprise


def test_it_switches_and_moves_every_key(
    alice: User, acme: Customer, tiers: dict[str, Plan]
) -> None:
    key = key_create(actor=alice, customer=acme, name="production")
    response = login(alice).post(reverse("app:tier-switch"), {"plan": "premium"}, follow=True)
    assert active_tier(acme) == "Premium"
    assert "You are now on the Premium tier" in response.content.decode()
    key.refresh_from_db()
    assert key.desired_version == 2
    assert Subscription.objects.filter(customer=acme, status="ended").count() == 1


def test_it_refuses_an_approval_tier(alice: User, acme: Customer, tiers: dict[str, Plan]) -> None:
    response = login(alice).post(reverse("app:tier-switch"), {"plan": "enterprise"}, follow=True)
    assert active_tier(acme) == "Free"
    assert (
        "The Enterprise tier needs approval: an owner requests it on the Tier page "
        "(or POST /api/v1/tier-requests)." in response.content.decode()
    )


def test_it_refuses_the_current_tier(alice: User, acme: Customer, tiers: dict[str, Plan]) -> None:
    response = login(alice).post(reverse("app:tier-switch"), {"plan": "free"}, follow=True)
    assert "You are already on the Free tier." in response.content.decode()
    assert Subscription.objects.filter(customer=acme).count() == 1


def test_it_refuses_an_unknown_or_archived_tier(
    alice: User, acme: Customer, tiers: dict[str, Plan]
) -> None:
    plan_archive(actor=None, plan=tiers["Enterprise"])
    for slug in ("enterprise", "platinum"):
        response = login(alice).post(reverse("app:tier-switch"), {"plan": slug}, follow=True)
        assert "That tier is not offered." in response.content.decode()
    assert active_tier(acme) == "Free"


def test_an_admin_can_place_a_customer_on_an_approval_tier(
    admin: User, acme: Customer, tiers: dict[str, Plan]
) -> None:
    response = login(admin).post(
        reverse("console:customer-tier", args=[acme.pk]),
        {"plan": tiers["Enterprise"].pk},
        follow=True,
    )
    assert active_tier(acme) == "Enterprise"
    assert "Acme moved to Enterprise." in response.content.decode()


def test_ops_cannot_move_customers(ops: User, acme: Customer, tiers: dict[str, Plan]) -> None:
    response = login(ops).post(
        reverse("console:customer-tier", args=[acme.pk]), {"plan": tiers["Premium"].pk}
    )
    assert response.status_code == 403
    assert active_tier(acme) == "Free"
    assert not ApiKey.objects.exists()
