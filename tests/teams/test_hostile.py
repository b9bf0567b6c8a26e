"""What a hostile member and an outsider tried, through the REST API (the pages: the route
matrix). Each attempt is refused and changes nothing."""

from __future__ import annotations

import json
from typing import Any

import pytest
from allauth.account.models import EmailAddress
from django.test import Client

from portal.accounts.models import User
from portal.audit.models import AuditEvent
from portal.customers.models import Customer, Invitation, Membership
from tests.conftest import login


def _json(client: Client, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    return client.generic(method, path, json.dumps(body or {}), content_type="application/json")


def _unchanged(before: int) -> None:
    assert AuditEvent.objects.count() == before


@pytest.mark.django_db
def test_a_member_cannot_promote_herself_nor_invite_an_owner(maria: User, acme: Customer) -> None:
    client, events = login(maria), AuditEvent.objects.count()
    mine = acme.memberships.get(user=maria)
    response = _json(client, "PATCH", f"/api/v1/memberships/{mine.pk}", {"role": "owner"})
    assert response.status_code == 403
    response = _json(
        client, "POST", "/api/v1/invitations", {"email": "maria+2@acme.test", "role": "owner"}
    )
    assert response.status_code == 403
    owner = acme.memberships.get(user__email="alice@acme.test")
    assert (
        _json(client, "POST", f"/api/v1/memberships/{owner.pk}/transfer-ownership").status_code
        == 403
    )
    assert _json(client, "DELETE", f"/api/v1/memberships/{owner.pk}").status_code == 403
    assert Membership.objects.get(pk=mine.pk).role == "member"
    _unchanged(events)


@pytest.mark.django_db
def test_an_outsider_cannot_reach_another_organisations_people(
    bob: User, dave: User, acme: Customer
) -> None:
    client, events = login(bob), AuditEvent.objects.count()
    invitation = acme.invitations.get()
    alice_membership = acme.memberships.get()
    assert _json(client, "POST", f"/api/v1/invitations/{invitation.pk}/revoke").status_code == 404
    assert _json(client, "GET", f"/api/v1/invitations/{invitation.pk}").status_code == 404
    response = _json(
        client, "PATCH", f"/api/v1/memberships/{alice_membership.pk}", {"role": "member"}
    )
    assert response.status_code == 404
    # naming Acme as the organisation to invite into
    response = _json(
        client, "POST", "/api/v1/invitations", {"email": "spy@globex.test", "customer": acme.pk}
    )
    assert response.status_code == 404
    # joining Acme by switching to it, or through dave's invitation
    assert (
        _json(client, "POST", "/api/v1/me/organisation", {"customer": acme.pk}).status_code == 404
    )
    assert client.post(f"/welcome/invitations/{invitation.pk}/").status_code == 404
    listed = _json(client, "GET", "/api/v1/invitations").json()
    assert "dave@invited.test" not in json.dumps(listed)
    assert Invitation.objects.get(pk=invitation.pk).state == "pending"
    assert not Membership.objects.filter(user=bob, customer=acme).exists()
    _unchanged(events)


@pytest.mark.django_db
def test_the_invited_person_needs_a_confirmed_address_to_join_without_the_link(
    dave: User, acme: Customer
) -> None:
    EmailAddress.objects.filter(user=dave).update(verified=False)
    client = login(dave)
    invitation = acme.invitations.get()
    assert client.post(f"/welcome/invitations/{invitation.pk}/").status_code == 404
    EmailAddress.objects.filter(user=dave).update(verified=True)
    response = client.post(f"/welcome/invitations/{invitation.pk}/")
    assert response.status_code == 302 and response["Location"] == "/app/"
    assert Membership.objects.get(user=dave).customer == acme


@pytest.mark.django_db
def test_bad_bodies_are_clear_400s(alice: User, acme: Customer) -> None:
    client = login(alice)
    mine = acme.memberships.get()
    bodies: list[dict[str, Any]] = [{"role": "admin"}, {"role": None}, {}]
    for body in bodies:
        assert _json(client, "PATCH", f"/api/v1/memberships/{mine.pk}", body).status_code == 400
    bodies = [{"email": "nope"}, {"email": "x@y.test", "role": "god"}, {"email": ["a"]}]
    for body in bodies:
        assert _json(client, "POST", "/api/v1/invitations", body).status_code == 400
    assert _json(client, "POST", "/api/v1/me/organisation", {"customer": "x"}).status_code == 400
    assert client.post("/organisation/", {"customer": "'; drop table"}).status_code == 302
    assert client.post("/app/members/invite/", {"email": "", "role": "member"}).status_code == 302
    assert Invitation.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize("number", ["²", "9" * 30, "-1", "1e3"])
def test_numbers_that_are_not_ids_are_refused_not_crashed(
    admin: User, alice: User, acme: Customer, number: str
) -> None:
    """str.isdigit() accepts "²", which int() refuses: every id from a form is isdecimal()."""
    assert login(alice).post("/organisation/", {"customer": number}).status_code == 302
    console = login(admin)
    assert console.get("/console/audit/", {"organisation": number}).status_code == 200
    response = console.post(f"/console/customers/{acme.pk}/tier/", {"plan": number})
    assert response.status_code == 302
