"""A customer confirms their email address before creating API keys (keys.services.key_create):
the page, the API and the service refuse an unconfirmed one; staff and system calls are exempt."""

from __future__ import annotations

import pytest
from allauth.account.models import EmailAddress
from django.core.exceptions import ValidationError

from keys.models import ApiKey
from keys.services import key_create
from portal.accounts.models import User
from portal.customers.models import Customer
from portal.customers.services import customer_onboard
from tests.conftest import login, make_user
from tests.fixtures.api import api_as

MESSAGE = "Confirm your email address first"


@pytest.fixture
def dora(tiers: object) -> User:
    user = make_user("dora@unconfirmed.test", verified=False)
    customer_onboard(owner=user, organisation_name="Dora Inc")
    return user


def test_the_service_refuses_a_customer_without_a_confirmed_address(dora: User) -> None:
    customer = Customer.objects.get(name="Dora Inc")
    with pytest.raises(ValidationError, match=MESSAGE):
        key_create(actor=dora, customer=customer, name="production")
    assert not ApiKey.objects.exists()

    EmailAddress.objects.filter(user=dora).update(verified=True)
    assert key_create(actor=dora, customer=customer, name="production").name == "production"


def test_the_page_and_the_api_say_why(dora: User) -> None:
    page = login(dora).post("/app/keys/new/", {"name": "production"})
    assert page.status_code == 200
    assert MESSAGE in page.content.decode()

    response = api_as(dora).post("/api/v1/keys", {"name": "production"})
    assert response.status_code == 400
    assert MESSAGE in response.json()["detail"]
    assert not ApiKey.objects.exists()


def test_staff_and_system_calls_are_not_asked(dora: User, admin: User) -> None:
    EmailAddress.objects.filter(user=admin).update(verified=False)
    customer = Customer.objects.get(name="Dora Inc")

    assert key_create(actor=admin, customer=customer, name="by-staff")
    assert key_create(actor=None, customer=customer, name="by-system")
