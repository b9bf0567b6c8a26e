"""The console: who may read it, and the customer pages with their keys' sync status."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from keys.models import ApiKey
from keys.services import key_create
from portal.accounts.models import User
from portal.customers.models import Customer
from portal.sync import SyncStatus
from tests.conftest import login

READ_PAGES = ["console:overview", "console:stages", "console:tiers", "console:customers"]


@pytest.mark.parametrize("route", READ_PAGES)
def test_staff_read_every_console_page(admin: User, ops: User, route: str) -> None:
    for user in (admin, ops):
        assert login(user).get(reverse(route)).status_code == 200


@pytest.mark.parametrize("route", READ_PAGES)
def test_customers_cannot_read_the_console(alice: User, route: str) -> None:
    assert login(alice).get(reverse(route)).status_code == 403


@pytest.mark.parametrize("route", READ_PAGES)
def test_anonymous_people_must_sign_in(client: Client, db: None, route: str) -> None:
    response = client.get(reverse(route))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_the_customer_page_shows_keys_and_their_sync_status(
    admin: User, alice: User, acme: Customer
) -> None:
    key = key_create(actor=alice, customer=acme, name="production")
    ApiKey.objects.filter(pk=key.pk).update(
        sync_status=SyncStatus.FAILED,
        sync_error="API Gateway rejected the request (CreateApiKey): boom",
    )
    page = login(admin).get(reverse("console:customer", args=[acme.pk])).content.decode()
    assert "production" in page
    assert "Failed" in page
    assert "boom" in page
    assert "Retry" in page
    listing = login(admin).get(reverse("console:customers")).content.decode()
    assert "1 failed" in listing
