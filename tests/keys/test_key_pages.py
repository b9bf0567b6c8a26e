"""The customer's key pages: create, rename, disable, revoke, and the message for each bad input."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from keys.models import ApiKey
from keys.services import key_create
from portal.accounts.models import User
from portal.audit.models import AuditEvent
from portal.customers.models import Customer
from tests.conftest import login


@pytest.fixture
def acme_key(alice: User, acme: Customer) -> ApiKey:
    return key_create(actor=alice, customer=acme, name="production")


@pytest.fixture
def globex_key(bob: User, globex: Customer) -> ApiKey:
    return key_create(actor=bob, customer=globex, name="backend")


def test_it_creates_a_key_and_shows_its_page(alice: User, acme: Customer) -> None:
    response = login(alice).post(reverse("app:key-create"), {"name": " staging "})
    key = ApiKey.objects.get(customer=acme)
    assert response.status_code == 302
    assert response["Location"] == reverse("app:key", args=[key.public_id])
    assert key.name == "staging"
    assert key.created_by == alice
    assert key.secret_sha256 == ""  # API Gateway issues the secret in the sync task
    assert AuditEvent.objects.filter(action="key.created", actor=alice).exists()

    page = login(alice).get(response["Location"]).content.decode()
    assert "issuing your key" in page
    assert "The secret appears here, once" in page


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("", "Give the key a name, such as “production” or “CI”."),
        ("   ", "Give the key a name, such as “production” or “CI”."),
        ("x" * 65, "Keep the name to 64 characters or fewer."),
        ("PRODUCTION", "You already have a key named “PRODUCTION”."),
    ],
)
def test_it_explains_a_bad_key_name(alice: User, acme_key: ApiKey, name: str, message: str) -> None:
    response = login(alice).post(reverse("app:key-create"), {"name": name})
    assert response.status_code == 200
    assert message in response.content.decode()
    assert ApiKey.objects.count() == 1


def test_a_revoked_keys_name_can_be_reused(alice: User, acme: Customer, acme_key: ApiKey) -> None:
    login(alice).post(reverse("app:key-revoke", args=[acme_key.public_id]))
    response = login(alice).post(reverse("app:key-create"), {"name": "production"})
    assert response.status_code == 302
    assert ApiKey.objects.filter(customer=acme, name="production").count() == 2


def test_it_limits_live_keys(alice: User, acme: Customer, monkeypatch: Any) -> None:
    monkeypatch.setattr("keys.services.MAX_LIVE_KEYS_PER_CUSTOMER", 2)
    client = login(alice)
    client.post(reverse("app:key-create"), {"name": "a"})
    client.post(reverse("app:key-create"), {"name": "b"})
    response = client.post(reverse("app:key-create"), {"name": "c"})
    assert "You have 2 keys already; revoke one you no longer use." in response.content.decode()
    assert ApiKey.objects.filter(customer=acme).count() == 2


def test_it_renames_a_key(alice: User, acme_key: ApiKey) -> None:
    response = login(alice).post(
        reverse("app:key-rename", args=[acme_key.public_id]), {"name": "prod-eu"}, follow=True
    )
    acme_key.refresh_from_db()
    assert acme_key.name == "prod-eu"
    assert acme_key.desired_version == 2
    assert "Key renamed." in response.content.decode()


def test_it_explains_a_bad_rename(alice: User, acme: Customer, acme_key: ApiKey) -> None:
    key_create(actor=alice, customer=acme, name="staging")
    response = login(alice).post(
        reverse("app:key-rename", args=[acme_key.public_id]), {"name": "staging"}, follow=True
    )
    acme_key.refresh_from_db()
    assert acme_key.name == "production"
    assert "You already have a key named “staging”." in response.content.decode()


def test_it_disables_and_enables_a_key(alice: User, acme_key: ApiKey) -> None:
    client = login(alice)
    url = reverse("app:key-enabled", args=[acme_key.public_id])
    response = client.post(url, {"enabled": "0"}, follow=True)
    acme_key.refresh_from_db()
    assert acme_key.enabled is False
    assert "API Gateway will refuse it" in response.content.decode()
    client.post(url, {"enabled": "1"})
    acme_key.refresh_from_db()
    assert acme_key.enabled is True
    assert acme_key.desired_version == 3


def test_it_revokes_a_key_for_good(alice: User, acme_key: ApiKey) -> None:
    client = login(alice)
    client.post(reverse("app:key-revoke", args=[acme_key.public_id]))
    acme_key.refresh_from_db()
    assert acme_key.revoked_at is not None

    response = client.post(
        reverse("app:key-rename", args=[acme_key.public_id]), {"name": "again"}, follow=True
    )
    acme_key.refresh_from_db()
    assert acme_key.name == "production"
    assert "This key has been revoked; it can no longer be changed." in response.content.decode()


def test_it_lists_only_the_customers_own_keys(
    alice: User, acme_key: ApiKey, globex_key: ApiKey
) -> None:
    page = login(alice).get(reverse("app:keys")).content.decode()
    assert "production" in page
    assert "backend" not in page


@pytest.mark.parametrize(
    ("route", "method"),
    [
        ("app:key", "get"),
        ("app:key-status", "get"),
        ("app:key-secret", "post"),
        ("app:key-rename", "post"),
        ("app:key-enabled", "post"),
        ("app:key-revoke", "post"),
        ("app:key-retry", "post"),
    ],
)
def test_another_customers_key_is_not_found(
    alice: User, globex_key: ApiKey, route: str, method: str
) -> None:
    client = login(alice)
    response = getattr(client, method)(reverse(route, args=[globex_key.public_id]), {"name": "x"})
    assert response.status_code == 404
    globex_key.refresh_from_db()
    assert (globex_key.name, globex_key.enabled, globex_key.revoked_at) == ("backend", True, None)


def test_the_secret_is_not_offered_before_aws_issued_it(alice: User, acme_key: ApiKey) -> None:
    response = login(alice).post(reverse("app:key-secret", args=[acme_key.public_id]))
    assert "API Gateway has not issued this key yet" in response.content.decode()
    acme_key.refresh_from_db()
    assert acme_key.secret_revealed_at is None


def test_people_without_an_organisation_are_sent_to_join_or_start_one(charlie: User) -> None:
    client = login(charlie)
    response = client.get(reverse("app:keys"))
    assert response.status_code == 302 and response["Location"] == reverse("welcome")
    assert client.post(reverse("app:key-create"), {"name": "x"}).status_code == 403


def test_staff_are_sent_to_the_console(admin: User) -> None:
    response = login(admin).get(reverse("app:keys"))
    assert response.status_code == 302
    assert response["Location"] == reverse("console:overview")
