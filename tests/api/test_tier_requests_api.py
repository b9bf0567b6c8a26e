"""Tier requests over REST (/api/v1/tier-requests): the same services as the pages, every refusal a
problem JSON with a 4xx."""

from __future__ import annotations

from typing import Any

from plans.models import Plan, Subscription, TierRequest, TierRequestState
from portal.accounts.models import User
from portal.customers.models import Customer
from tests.fixtures.api import api_as

URL = "/api/v1/tier-requests"


def active_tier(customer: Customer) -> str:
    return Subscription.objects.get(customer=customer, status="active").plan.slug


def ask(user: User, **body: Any) -> Any:
    return api_as(user).post(URL, {"tier": "enterprise", "message": "Big launch", **body})


def test_an_owner_asks_and_lists_it(
    alice: User, bob: User, acme: Customer, tiers: dict[str, Plan]
) -> None:
    response = ask(alice)

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["tier"] == "enterprise" and body["state"] == "pending"
    assert body["customer"] == acme.pk and body["requested_by"] == "alice@acme.test"
    assert body["message"] == "Big launch" and body["decided_by"] is None
    listed = api_as(alice).get(URL).json()["results"]
    assert [r["id"] for r in listed] == [body["id"]]
    assert api_as(bob).get(URL).json()["results"] == []  # another organisation's
    assert api_as(bob).get(f"{URL}/{body['id']}").status_code == 404
    assert active_tier(acme) == "free"


def test_refusals_are_problems_with_a_4xx(
    alice: User, maria: User, acme: Customer, tiers: dict[str, Plan]
) -> None:
    member = ask(maria)
    assert member.status_code == 403
    assert member.json()["type"] == "permission_denied"
    assert "Only an owner of Acme" in member.json()["detail"]

    assert ask(alice).status_code == 201
    second = ask(alice)
    assert second.status_code == 409
    assert second.json()["type"] == "conflict"
    assert "already asked for the Enterprise tier" in second.json()["detail"]

    self_serve = ask(alice, tier="premium")
    assert self_serve.status_code == 400
    assert "needs no approval" in self_serve.json()["errors"]["plan"][0]
    unknown = ask(alice, tier="platinum")
    assert unknown.status_code == 400
    assert unknown.json()["errors"] == {"tier": ["That tier is not offered."]}
    too_long = ask(alice, tier="enterprise", message="x" * 2001)
    assert too_long.status_code in (400, 409)
    bodies: list[Any] = [[], "text", {"tier": ["x"]}, {"tier": "enterprise", "message": 5}]
    for body in bodies:
        response = api_as(alice).post(URL, body)
        assert 400 <= response.status_code < 500
    assert TierRequest.objects.count() == 1


def test_withdraw_is_for_owners(
    alice: User, maria: User, bob: User, acme: Customer, tiers: dict[str, Plan]
) -> None:
    request_id = ask(alice).json()["id"]
    assert api_as(maria).post(f"{URL}/{request_id}/withdraw").status_code == 403
    assert api_as(bob).post(f"{URL}/{request_id}/withdraw").status_code == 404
    response = api_as(alice).post(f"{URL}/{request_id}/withdraw")
    assert response.status_code == 200 and response.json()["state"] == "withdrawn"
    again = api_as(alice).post(f"{URL}/{request_id}/withdraw")
    assert again.status_code == 410 and again.json()["type"] == "gone"


def test_staff_list_everyone_and_only_admins_decide(
    admin: User,
    ops: User,
    alice: User,
    bob: User,
    acme: Customer,
    tiers: dict[str, Plan],
    sent_tasks: list[Any],
    django_capture_on_commit_callbacks: Any,
) -> None:
    acme_request = ask(alice).json()["id"]
    globex_request = ask(bob).json()["id"]
    listed = api_as(ops).get(f"{URL}?state=pending").json()["results"]
    assert {r["id"] for r in listed} == {acme_request, globex_request}
    assert len(api_as(ops).get(f"{URL}?customer={acme.pk}").json()["results"]) == 1

    assert api_as(ops).post(f"{URL}/{acme_request}/approve").status_code == 403
    assert api_as(alice).post(f"{URL}/{acme_request}/approve").status_code == 403
    assert api_as(alice).post(f"{URL}/{acme_request}/reject", {"reason": "x"}).status_code == 403

    with django_capture_on_commit_callbacks(execute=True):
        approved = api_as(admin).post(f"{URL}/{acme_request}/approve")
    assert approved.status_code == 200
    assert approved.json()["state"] == "approved"
    assert approved.json()["decided_by"] == "admin@tollgate.test"
    assert active_tier(acme) == "enterprise"
    assert api_as(admin).post(f"{URL}/{acme_request}/approve").status_code == 410

    no_reason = api_as(admin).post(f"{URL}/{globex_request}/reject", {"reason": " "})
    assert no_reason.status_code == 400
    assert no_reason.json()["errors"] == {"reason": ["Say why: the customer reads the reason."]}
    rejected = api_as(admin).post(f"{URL}/{globex_request}/reject", {"reason": "Not yet"})
    assert rejected.status_code == 200 and rejected.json()["reason"] == "Not yet"
    assert TierRequest.objects.get(pk=globex_request).state == TierRequestState.REJECTED


def test_an_admin_may_ask_for_a_customer_they_name(
    admin: User, acme: Customer, tiers: dict[str, Plan]
) -> None:
    missing = api_as(admin).post(URL, {"tier": "enterprise"})
    assert missing.status_code == 400
    assert missing.json()["errors"] == {"customer": ["Say which customer asks."]}
    response = api_as(admin).post(URL, {"tier": "enterprise", "customer": acme.pk})
    assert response.status_code == 201 and response.json()["customer"] == acme.pk
