"""Invitations: who may send them, the link's life (expiry, single use, resend, revoke), and
joining through it with or without an account."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from allauth.account.models import EmailAddress
from django.core import mail
from django.test import Client
from django.utils import timezone

from portal.accounts.models import User
from portal.audit.models import AuditEvent
from portal.customers.models import Customer, Invitation, Membership
from portal.customers.services import customer_create
from portal.errors import NoLongerAvailable, NotAllowed, NotReady, Refused
from portal.teams.services import (
    invitation_accept,
    invitation_create,
    invitation_resend,
    invitation_revoke,
    token_digest,
)
from tests.conftest import PASSWORD, login, make_user

BASE = "http://testserver/"
LINK = re.compile(r"http://testserver(/invitations/[-\w]+/)")


def invite(actor: User, customer: Customer, email: str, role: str = "member") -> tuple[Any, str]:
    sent = invitation_create(actor=actor, customer=customer, email=email, role=role, base_url=BASE)
    token = sent.link.rstrip("/").rsplit("/", 1)[1]
    return sent.invitation, token


@pytest.mark.django_db
def test_an_owner_invites_and_only_a_hash_of_the_token_is_kept(
    alice: User, acme: Customer, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        invitation, token = invite(alice, acme, " New.Person@Example.TEST ")
    assert invitation.email == "new.person@example.test"
    assert invitation.token_hash == token_digest(token)
    assert not Invitation.objects.filter(token_hash=token).exists()
    assert invitation.expires_at - invitation.sent_at == timedelta(days=7)
    [message] = mail.outbox
    assert message.to == ["new.person@example.test"]
    assert "alice@acme.test invited you to Acme" in message.subject
    assert f"/invitations/{token}/" in message.body
    event = AuditEvent.objects.get(action="invitation.created")
    assert event.actor == alice and event.customer_id == acme.pk
    assert token not in repr(event.after)


@pytest.mark.django_db
def test_a_member_may_not_invite_nor_manage_invitations(
    maria: User, dave: User, acme: Customer
) -> None:
    with pytest.raises(NotAllowed, match="Only an owner of Acme"):
        invite(maria, acme, "x@example.test")
    pending = acme.invitations.get(email=dave.email)
    with pytest.raises(NotAllowed):
        invitation_revoke(actor=maria, invitation=pending)
    with pytest.raises(NotAllowed):
        invitation_resend(actor=maria, invitation=pending, base_url=BASE)
    assert acme.invitations.count() == 1


@pytest.mark.django_db
def test_bad_and_duplicate_invitations_are_refused(
    alice: User, maria: User, acme: Customer
) -> None:
    with pytest.raises(Refused, match="valid email"):
        invite(alice, acme, "not-an-address")
    with pytest.raises(Refused, match="role"):
        invite(alice, acme, "x@example.test", role="admin")
    with pytest.raises(Refused, match="already in Acme"):
        invite(alice, acme, "maria@acme.test")
    invite(alice, acme, "x@example.test")
    with pytest.raises(NotReady, match="resend"):
        invite(alice, acme, "X@example.test")
    assert acme.invitations.count() == 1


@pytest.mark.django_db
def test_the_link_works_once_for_the_invited_address_only(
    alice: User, acme: Customer, charlie: User
) -> None:
    invitation, token = invite(alice, acme, "charlie@outsider.test", role="owner")
    stranger = make_user("stranger@example.test")
    with pytest.raises(NotAllowed, match="for charlie@outsider.test"):
        invitation_accept(user=stranger, token=token)
    membership = invitation_accept(user=charlie, token=token)
    assert membership.customer == acme and membership.role == "owner"
    with pytest.raises(NoLongerAvailable, match="accepted"):
        invitation_accept(user=charlie, token=token)
    with pytest.raises(Refused, match="not valid"):
        invitation_accept(user=charlie, token="made-up")
    actions = list(AuditEvent.objects.order_by("pk").values_list("action", flat=True))
    assert actions[-2:] == ["invitation.accepted", "membership.created"]


@pytest.mark.django_db
def test_expired_revoked_and_resent_links(alice: User, acme: Customer, charlie: User) -> None:
    invitation, token = invite(alice, acme, "charlie@outsider.test")
    Invitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now())
    with pytest.raises(NoLongerAvailable, match="expired"):
        invitation_accept(user=charlie, token=token)

    resent = invitation_resend(actor=alice, invitation=invitation, base_url=BASE)
    new_token = resent.link.rstrip("/").rsplit("/", 1)[1]
    assert new_token != token
    with pytest.raises(Refused, match="not valid"):
        invitation_accept(user=charlie, token=token)  # the old link died with the resend

    invitation_revoke(actor=alice, invitation=invitation)
    with pytest.raises(NoLongerAvailable, match="revoked"):
        invitation_accept(user=charlie, token=new_token)
    assert not Membership.objects.filter(user=charlie).exists()


@pytest.mark.django_db
def test_staff_cannot_join_an_organisation(alice: User, acme: Customer, ops: User) -> None:
    _, token = invite(alice, acme, "ops@tollgate.test")
    with pytest.raises(NotAllowed, match="staff"):
        invitation_accept(user=ops, token=token)


@pytest.mark.django_db
def test_an_admin_invites_the_first_owner_of_an_imported_organisation(admin: User) -> None:

    initech = customer_create(actor=admin, name="Initech")
    invitation, token = invite(admin, initech, "peter@initech.test", role="owner")
    assert invitation.invited_by == admin
    peter = make_user("peter@initech.test")
    invitation_accept(user=peter, token=token)
    assert initech.memberships.get().role == "owner"


# --- the pages ----------------------------------------------------------------------------------


def _follow_link(client: Client, token: str) -> Any:
    response = client.get(f"/invitations/{token}/")
    assert response.status_code == 302 and response["Location"] == "/invitation/"
    return client.get("/invitation/")


@pytest.mark.django_db
def test_a_newcomer_signs_up_through_the_link_without_an_organisation_or_a_confirmation(
    alice: User, acme: Customer
) -> None:
    _, token = invite(alice, acme, "newcomer@example.test")
    client = Client()
    page = _follow_link(client, token)
    body = page.content.decode()
    assert "alice@acme.test" in body and "newcomer@example.test" in body and "Acme" in body
    assert token not in body
    assert "Create your account" in body

    signup = client.get("/accounts/signup/").content.decode()
    assert 'name="organisation"' not in signup
    assert 'value="newcomer@example.test"' in signup
    response = client.post(
        "/accounts/signup/",
        {"email": "newcomer@example.test", "password1": PASSWORD, "password2": PASSWORD},
    )
    assert response.status_code == 302, response.content.decode()[:1000]
    user = User.objects.get(email="newcomer@example.test")
    assert EmailAddress.objects.get(user=user).verified  # the link proved the address
    membership = Membership.objects.get(user=user)
    assert membership.customer == acme and membership.role == "member"
    assert Customer.objects.count() == 1  # no organisation of their own
    assert client.get("/app/").status_code == 200


@pytest.mark.django_db
def test_signing_up_through_the_link_with_another_address_is_refused(
    alice: User, acme: Customer
) -> None:
    _, token = invite(alice, acme, "newcomer@example.test")
    client = Client()
    _follow_link(client, token)
    response = client.post(
        "/accounts/signup/",
        {"email": "someone.else@example.test", "password1": PASSWORD, "password2": PASSWORD},
    )
    assert response.status_code == 200
    assert "This invitation is for newcomer@example.test" in response.content.decode()
    assert not User.objects.filter(email="someone.else@example.test").exists()


@pytest.mark.django_db
def test_someone_with_an_account_signs_in_and_accepts(
    alice: User, acme: Customer, charlie: User
) -> None:
    _, token = invite(alice, acme, "charlie@outsider.test")
    client = Client()
    assert "Sign in to accept" in _follow_link(client, token).content.decode()
    client.force_login(charlie)
    page = client.get("/invitation/").content.decode()
    assert "Accept and join Acme" in page
    response = client.post("/invitation/")
    assert response.status_code == 302 and response["Location"] == "/app/"
    assert Membership.objects.filter(user=charlie, customer=acme).exists()
    assert "was accepted already" in _follow_link(client, token).content.decode()


@pytest.mark.django_db
def test_the_wrong_person_signed_in_is_told_so(alice: User, acme: Customer, bob: User) -> None:
    _, token = invite(alice, acme, "charlie@outsider.test")
    client = login(bob)
    page = _follow_link(client, token).content.decode()
    assert "signed in as bob@globex.test" in page
    client.post("/invitation/")
    assert not Membership.objects.filter(user=bob, customer=acme).exists()


@pytest.mark.django_db
def test_an_unknown_link_is_a_404_page(client: Client) -> None:
    response = _follow_link(client, "no-such-token")
    assert response.status_code == 404
    assert "does not work" in response.content.decode()
