"""The owner's switch "require MFA for everyone in this organisation": the service, the page
(/app/settings/) and the API (/api/v1/organisation/settings). Owners change it; members read it."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from portal.accounts.models import User
from portal.audit.models import AuditEvent
from portal.customers.models import Customer
from portal.errors import NotAllowed
from portal.mfa.services import customer_set_require_mfa
from portal.tokens.services import token_create
from tests.conftest import login
from tests.fixtures.mfa import add_totp

pytestmark = pytest.mark.django_db


def bearer(user: User) -> Client:
    token = token_create(
        user=user, name="script", scope="write", expires_at=timezone.now() + timedelta(days=1)
    ).plaintext
    return Client(HTTP_AUTHORIZATION=f"Bearer {token}")


def patch(client: Client, body: dict[str, object]) -> tuple[int, dict[str, object]]:
    response = client.patch(
        "/api/v1/organisation/settings", json.dumps(body), content_type="application/json"
    )
    return response.status_code, json.loads(response.content)


def test_the_service_records_before_and_after_once(alice: User, acme: Customer) -> None:
    customer_set_require_mfa(actor=alice, customer=acme, required=True, ip="192.0.2.1")
    customer_set_require_mfa(actor=alice, customer=acme, required=True)  # no change: no event
    acme.refresh_from_db()
    assert acme.require_mfa is True
    event = AuditEvent.objects.get(action="customer.mfa_required")
    assert (event.actor_id, event.before, event.after, event.ip) == (
        alice.pk,
        {"require_mfa": False},
        {"require_mfa": True},
        "192.0.2.1",
    )
    customer_set_require_mfa(actor=alice, customer=acme, required=False)
    assert AuditEvent.objects.filter(action="customer.mfa_not_required").count() == 1


@pytest.mark.parametrize("who", ["maria", "bob", "admin", "charlie"])
def test_only_an_owner_may_change_it(
    who: str, request: pytest.FixtureRequest, acme: Customer
) -> None:
    with pytest.raises(NotAllowed, match="Only an owner of Acme"):
        customer_set_require_mfa(actor=request.getfixturevalue(who), customer=acme, required=True)
    acme.refresh_from_db()
    assert acme.require_mfa is False


def test_the_owner_turns_it_on_from_the_page(alice: User, acme: Customer) -> None:
    add_totp(alice)
    client = login(alice)
    page = client.get("/app/settings/").content.decode()
    assert 'name="require_mfa"' in page
    response = client.post("/app/settings/", {"require_mfa": "on"})
    assert response["Location"] == "/app/settings/"
    acme.refresh_from_db()
    assert acme.require_mfa is True
    assert "now requires two-factor authentication" in client.get("/app/settings/").content.decode()
    client.post("/app/settings/", {})  # the switch off: the box unticked
    acme.refresh_from_db()
    assert acme.require_mfa is False


def test_an_owner_without_mfa_who_turns_it_on_sets_it_up_next(alice: User, acme: Customer) -> None:
    client = login(alice)
    assert "sends you, too" in client.get("/app/settings/").content.decode()
    client.post("/app/settings/", {"require_mfa": "on"})
    assert client.get("/app/settings/")["Location"] == "/accounts/2fa/"


def test_a_member_reads_it_and_cannot_change_it(maria: User, acme: Customer) -> None:
    client = login(maria)
    page = client.get("/app/settings/").content.decode()
    assert 'name="require_mfa"' not in page
    assert "Only an owner can change this" in page
    assert client.post("/app/settings/", {"require_mfa": "on"}).status_code == 403
    acme.refresh_from_db()
    assert acme.require_mfa is False
    assert not AuditEvent.objects.filter(action__startswith="customer.mfa").exists()


def test_the_api(alice: User, maria: User, bob: User, admin: User, acme: Customer) -> None:
    body = json.loads(bearer(maria).get("/api/v1/organisation/settings").content)
    assert body == {
        "id": acme.pk,
        "name": "Acme",
        "slug": acme.slug,
        "require_mfa": False,
        "disable_idle_keys": False,
        "leaked_key_action": "disable",
        "you_are_owner": False,
    }
    status, refused = patch(bearer(maria), {"require_mfa": True})
    assert (status, refused["type"]) == (403, "permission_denied")
    assert "Only an owner of Acme" in str(refused["detail"])
    status, changed = patch(bearer(alice), {"require_mfa": True})
    assert (status, changed["require_mfa"], changed["you_are_owner"]) == (200, True, True)
    acme.refresh_from_db()
    assert acme.require_mfa is True
    # bob changes his own organisation, never Acme.
    status, globex = patch(bearer(bob), {"require_mfa": True})
    assert (status, globex["name"]) == (200, "Globex")
    # Staff have no organisation of their own.
    assert bearer(admin).get("/api/v1/organisation/settings").status_code == 403
    # Acme requires MFA now, and alice has none yet: the API says so until she sets it up.
    status, refused = patch(bearer(alice), {"require_mfa": False})
    assert (status, refused["type"]) == (403, "mfa_required")
    add_totp(alice)
    status, _ = patch(bearer(alice), {"require_mfa": "maybe"})
    assert status == 400
