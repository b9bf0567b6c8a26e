"""Customers, memberships and /api/v1/me through the API (portal.api.views)."""

from __future__ import annotations

from portal.accounts.models import User
from tests.fixtures.api import api_as


def test_customers_and_memberships(ops: User, alice: User, bob: User) -> None:
    customers = api_as(ops).get("/api/v1/customers?ordering=name").json()["results"]
    assert [(c["name"], c["tier"]) for c in customers] == [("Acme", "free"), ("Globex", "free")]
    assert [c["name"] for c in api_as(ops).get("/api/v1/customers?q=glob").json()["results"]] == [
        "Globex"
    ]
    members = api_as(alice).get("/api/v1/memberships").json()["results"]
    assert [(m["email"], m["role"]) for m in members] == [("alice@acme.test", "owner")]


def test_me_says_who_is_asking(alice: User) -> None:
    body = api_as(alice, "read").get("/api/v1/me").json()

    assert body["email"] == "alice@acme.test"
    assert body["customer"]["name"] == "Acme"
    assert (body["authenticated_by"], body["token_scope"]) == ("token", "read")
