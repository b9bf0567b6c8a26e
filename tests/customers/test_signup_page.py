"""Sign-up: a new person gets an organisation on the default tier."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from plans.models import Plan, Subscription
from portal.accounts.models import User
from portal.customers.models import Customer, Membership

GOOD = {
    "organisation": "Hooli",
    "email": "gavin@hooli.test",
    "password1": "a-long-enough-pass",
    "password2": "a-long-enough-pass",
}


def test_it_signs_up_onto_the_default_tier(client: Client, tiers: dict[str, Plan]) -> None:
    response = client.post(reverse("account_signup"), GOOD)
    assert response.status_code == 302
    user = User.objects.get(email="gavin@hooli.test")
    customer = Customer.objects.get(name="Hooli")
    assert Membership.objects.get(user=user, customer=customer).role == "owner"
    subscription = Subscription.objects.get(customer=customer)
    assert (subscription.plan.name, subscription.status) == ("Free", "active")
    assert client.get(reverse("home"))["Location"] == reverse("app:keys")


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"organisation": ""}, "This field is required."),
        ({"organisation": " x "}, "Enter an organisation name of at least 2 characters."),
        ({"email": "not-an-email"}, "Enter a valid email address."),
        ({"password2": "something-else"}, "You must type the same password each time."),
        ({"password1": "short", "password2": "short"}, "This password is too short."),
    ],
)
def test_it_explains_bad_sign_up_input(
    client: Client, tiers: dict[str, Plan], changes: dict[str, Any], message: str
) -> None:
    response = client.post(reverse("account_signup"), {**GOOD, **changes})
    assert response.status_code == 200
    assert message in response.content.decode().replace("&#x27;", "'")
    assert not User.objects.exists()
    assert not Customer.objects.exists()


def test_it_refuses_an_email_already_used(client: Client, alice: User) -> None:
    response = client.post(reverse("account_signup"), {**GOOD, "email": "alice@acme.test"})
    assert response.status_code == 200
    assert "A user is already registered with this email address." in response.content.decode()
    assert Customer.objects.count() == 1
