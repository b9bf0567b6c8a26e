"""Owners manage members; the last owner stays; members work with keys, not the tier."""

from __future__ import annotations

import json

import pytest

from keys.models import ApiKey
from keys.services import key_create, key_revoke
from plans.models import Plan
from plans.services import subscription_switch
from portal.access import may_manage_key, may_manage_organisation, organisation_of
from portal.accounts.models import User
from portal.customers.models import Customer, Membership
from portal.errors import NotAllowed, Refused
from portal.teams.services import (
    membership_remove,
    membership_set_role,
    organisation_choose,
    ownership_transfer,
)
from tests.conftest import login


@pytest.mark.django_db
def test_the_last_owner_can_neither_leave_nor_be_demoted(alice: User, acme: Customer) -> None:
    mine = acme.memberships.get(user=alice)
    with pytest.raises(Refused, match="last owner"):
        membership_remove(actor=alice, membership=mine)
    with pytest.raises(Refused, match="last owner"):
        membership_set_role(actor=alice, membership=mine, role="member")
    assert acme.memberships.get(user=alice).role == "owner"


@pytest.mark.django_db
def test_ownership_transfer_swaps_the_roles(alice: User, maria: User, acme: Customer) -> None:
    ownership_transfer(actor=alice, customer=acme, to=acme.memberships.get(user=maria))
    roles = dict(acme.memberships.values_list("user__email", "role"))
    assert roles == {"alice@acme.test": "member", "maria@acme.test": "owner"}
    # alice is a member now: the next transfer is maria's to make
    with pytest.raises(NotAllowed):
        ownership_transfer(actor=alice, customer=acme, to=acme.memberships.get(user=alice))


@pytest.mark.django_db
def test_a_member_leaves_and_an_owner_removes(alice: User, maria: User, acme: Customer) -> None:
    membership_remove(actor=maria, membership=acme.memberships.get(user=maria))
    assert organisation_of(maria) is None
    second = Membership.objects.create(user=maria, customer=acme, role="member")
    with pytest.raises(NotAllowed):
        membership_remove(actor=maria, membership=acme.memberships.get(user=alice))
    membership_remove(actor=alice, membership=second)
    assert list(acme.memberships.values_list("user__email", flat=True)) == ["alice@acme.test"]


@pytest.mark.django_db
def test_a_member_changes_their_own_keys_only_and_never_the_tier(
    alice: User, maria: User, acme: Customer, tiers: dict[str, Plan]
) -> None:
    owners_key = key_create(actor=alice, customer=acme, name="owner-key")
    own_key = key_create(actor=maria, customer=acme, name="maria-key")
    assert may_manage_key(maria, own_key) and not may_manage_key(maria, owners_key)
    assert may_manage_key(alice, own_key)  # an owner manages every key
    with pytest.raises(NotAllowed, match="Only the person who created this key"):
        key_revoke(actor=maria, key=owners_key)
    key_revoke(actor=maria, key=own_key)
    assert ApiKey.objects.get(pk=owners_key.pk).revoked_at is None
    assert not may_manage_organisation(maria, acme)
    with pytest.raises(NotAllowed, match="Only an owner of Acme"):
        subscription_switch(actor=maria, customer=acme, plan=tiers["Premium"])


@pytest.mark.django_db
def test_the_pages_and_the_api_refuse_a_member_alike(
    maria: User, acme: Customer, tiers: dict[str, Plan]
) -> None:
    client = login(maria)
    page = client.post("/app/tier/switch/", {"plan": "premium"})
    assert page.status_code == 403
    assert "Only an owner of Acme" in page.content.decode()
    api = client.post(
        "/api/v1/subscription/switch",
        json.dumps({"tier": "premium"}),
        content_type="application/json",
    )
    assert api.status_code == 403
    assert "Only an owner of Acme" in api.json()["detail"]
    tier = client.get("/app/tier/").content.decode()
    assert "Acme" in tier


@pytest.mark.django_db
def test_a_person_in_two_organisations_chooses_where_to_work(
    alice: User, bob: User, acme: Customer, globex: Customer
) -> None:
    Membership.objects.create(user=alice, customer=globex, role="member")
    assert organisation_of(alice) == acme  # the first, until she chooses
    client = login(alice)
    response = client.post("/organisation/", {"customer": globex.pk})
    assert response.status_code == 302
    assert organisation_of(User.objects.get(pk=alice.pk)) == globex
    keys = client.get("/app/").content.decode()
    assert "Switch to Acme" in keys  # the header offers the other one
    me = client.get("/api/v1/me").json()
    assert me["customer"]["name"] == "Globex" and me["role"] == "member"
    assert {o["name"] for o in me["organisations"]} == {"Acme", "Globex"}
    api = client.post(
        "/api/v1/me/organisation", json.dumps({"customer": acme.pk}), "application/json"
    )
    assert api.status_code == 200
    assert organisation_of(User.objects.get(pk=alice.pk)) == acme
    # someone else's organisation: refused, and nothing changes
    bobs = client.post("/organisation/", {"customer": 999999})
    assert bobs.status_code == 302
    with pytest.raises(Refused):
        organisation_choose(user=bob, customer=acme)


@pytest.mark.django_db
def test_members_page_shows_people_and_invitations_with_actions_for_owners(
    alice: User, maria: User, dave: User
) -> None:
    owner_page = login(alice).get("/app/members/").content.decode()
    assert "maria@acme.test" in owner_page and "dave@invited.test" in owner_page
    assert "Send invitation" in owner_page and "Transfer ownership" in owner_page
    member_page = login(maria).get("/app/members/").content.decode()
    assert "dave@invited.test" in member_page
    assert "Send invitation" not in member_page and "Transfer ownership" not in member_page
