"""The audit log pages: staff read every event at /console/audit/, an organisation's owners
their own at /app/audit/ (members may not), filtered, paged, with before and after shown."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from keys.services import key_create, key_rename
from portal.accounts.models import User
from portal.audit.models import AuditEvent
from portal.audit.services import audit
from portal.auditlog.views import PER_PAGE
from portal.customers.models import Customer, Membership, MembershipRole
from tests.conftest import login, make_user

CREATED, RENAMED = "<code>key.created</code>", "<code>key.renamed</code>"


@pytest.fixture
def history(alice: User, bob: User, acme: Customer, globex: Customer) -> dict[str, Any]:
    acme_key = key_create(actor=alice, customer=acme, name="acme-prod")
    key_rename(actor=alice, key=acme_key, name="acme-production")
    globex_key = key_create(actor=bob, customer=globex, name="globex-prod")
    return {"acme_key": acme_key, "globex_key": globex_key}


@pytest.fixture
def member(acme: Customer) -> User:
    user = make_user("mallory@acme.test")
    Membership.objects.create(user=user, customer=acme, role=MembershipRole.MEMBER)
    return user


def page(user: User, name: str, **params: Any) -> str:
    response = login(user).get(reverse(name), params)
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def test_staff_see_every_organisation(admin: User, ops: User, history: dict[str, Any]) -> None:
    for person in (admin, ops):
        body = page(person, "audit:console")
        assert "acme-production" in body and "globex-prod" in body
        assert "Acme" in body and "Globex" in body


def test_staff_filter_by_organisation_person_object_and_action(
    admin: User, acme: Customer, history: dict[str, Any]
) -> None:
    acme_key = history["acme_key"]
    assert "globex-prod" not in page(admin, "audit:console", organisation=acme.pk)
    by_bob = page(admin, "audit:console", person="BOB@globex.test")
    assert "globex-prod" in by_bob and "acme-prod" not in by_bob
    one_key = page(admin, "audit:console", type="keys.apikey", object=acme_key.pk)
    assert CREATED in one_key and RENAMED in one_key and "globex" not in one_key
    renamed = page(admin, "audit:console", action="key.renamed")
    assert RENAMED in renamed and CREATED not in renamed
    assert "globex-prod" in page(admin, "audit:console", action="key.")
    assert "No events match" in page(admin, "audit:console", organisation="nonsense")


def test_staff_name_an_organisation_by_slug_or_name_in_a_text_field(
    admin: User, acme: Customer, history: dict[str, Any]
) -> None:
    """No list of every organisation in the form: at 10,000 it was most of the page's time."""
    for typed in (acme.slug.upper(), acme.name.lower(), str(acme.pk)):
        body = page(admin, "audit:console", organisation=typed)
        assert "acme-production" in body and "globex-prod" not in body, typed
    form = page(admin, "audit:console", organisation=acme.slug)
    assert "<select" not in form and f'name="organisation" value="{acme.slug}"' in form


def test_before_and_after_are_shown_field_by_field(admin: User, history: dict[str, Any]) -> None:
    body = page(admin, "audit:console", action="key.renamed")
    assert "<dt>name</dt>" in body
    assert "<del>acme-prod</del> → <ins>acme-production</ins>" in body


def test_an_owner_sees_only_their_organisation(
    alice: User, bob: User, history: dict[str, Any]
) -> None:
    alices = page(alice, "audit:app")
    assert "acme-production" in alices and "globex" not in alices
    bobs = page(bob, "audit:app")
    assert "globex-prod" in bobs and "acme" not in bobs
    # Asking for another organisation's object finds nothing.
    assert "globex" not in page(alice, "audit:app", object=history["globex_key"].pk)
    # The organisation filter is staff's: an owner cannot widen the scope with it.
    assert "globex" not in page(alice, "audit:app", organisation=history["globex_key"].customer_id)


def test_a_member_who_is_not_an_owner_is_refused(member: User, history: dict[str, Any]) -> None:
    client = login(member)
    assert client.get(reverse("audit:app")).status_code == 403
    assert client.get(reverse("audit:app-csv")).status_code == 403


def test_sign_ins_are_not_an_organisations_events(alice: User, admin: User) -> None:
    """A person may belong to several organisations: their sign-ins are staff's to read."""
    audit(actor=alice, action="account.signed_in", target=alice, ip="203.0.113.7")
    assert "<code>account.signed_in</code>" not in page(alice, "audit:app")
    body = page(admin, "audit:console", person="alice@acme.test")
    assert "<code>account.signed_in</code>" in body and "203.0.113.7" in body


def test_pages_keep_the_filters(admin: User, acme: Customer, alice: User) -> None:
    AuditEvent.objects.bulk_create(
        [
            AuditEvent(
                actor_email=alice.email,
                customer=acme,
                action="key.renamed",
                target_type="keys.apikey",
                target_id=str(n),
                target_repr=f"key-{n:03d}",
            )
            for n in range(PER_PAGE + 5)
        ]
    )
    first = page(admin, "audit:console", action="key.renamed")
    assert "Page 1 of 2" in first
    assert "?action=key.renamed&amp;page=2" in first
    second = page(admin, "audit:console", action="key.renamed", page=2)
    assert "Page 2 of 2" in second and second.count("<code>key.renamed</code>") == 5


def test_a_deleted_organisation_still_shows_by_number(admin: User, acme: Customer) -> None:
    audit(actor=None, action="customer.renamed", target=acme)
    acme_id = acme.pk
    acme.delete()
    assert f"#{acme_id} (deleted)" in page(admin, "audit:console")
