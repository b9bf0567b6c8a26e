"""Search and filters of the staff lists /api/v1/customers and /api/v1/keys (keys.api.filters):
the same rule as the console's customer list, bad values a 400, documented in the schema."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from keys.models import ApiKey
from plans.models import Plan, Subscription
from portal.accounts.models import User
from portal.customers.models import Customer
from portal.sync import SyncStatus
from tests.fixtures.api import api_as


@pytest.fixture
def world(
    alice: User, maria: User, bob: User, acme: Customer, globex: Customer, tiers: dict[str, Plan]
) -> dict[str, Any]:
    Subscription.objects.filter(customer=globex).update(plan=tiers["Premium"])
    initech = Customer.objects.create(name="Initech", slug="initech")
    return {
        "acme": acme,
        "globex": globex,
        "initech": initech,
        "stuck": ApiKey.objects.create(
            customer=acme, name="production", sync_status=SyncStatus.FAILED, display_prefix="Xk2p9"
        ),
        "waiting": ApiKey.objects.create(
            customer=globex, name="ci runner", sync_status=SyncStatus.PENDING, aws_id="abc123def"
        ),
        "gone": ApiKey.objects.create(
            customer=initech, name="old", sync_status=SyncStatus.FAILED, revoked_at=timezone.now()
        ),
    }


def customers(user: User, query: str) -> list[str]:
    response = api_as(user).get(f"/api/v1/customers?{query}")
    assert response.status_code == 200, response.json()
    return [c["name"] for c in response.json()["results"]]


def keys(user: User, query: str) -> list[str]:
    response = api_as(user).get(f"/api/v1/keys?{query}")
    assert response.status_code == 200, response.json()
    return sorted(k["name"] for k in response.json()["results"])


@pytest.mark.parametrize(
    ("query", "found"),
    [
        ("search=glob", ["Globex"]),
        ("search=initech", ["Initech"]),
        ("search=maria@acme.test", ["Acme"]),
        ("search=%40globex.test", ["Globex"]),
        ("search=", ["Acme", "Globex", "Initech"]),
        ("tier=premium", ["Globex"]),
        ("has_tier=false", ["Initech"]),
        ("has_tier=true", ["Acme", "Globex"]),
        ("key_sync_status=failed", ["Acme"]),  # Initech's failed key is revoked
        ("key_sync_status=pending", ["Globex"]),
        ("key_sync_status=drifted", []),
        ("search=a&has_tier=true&key_sync_status=failed", ["Acme"]),
        ("q=glob", ["Globex"]),  # the older name-only filter still works
    ],
)
def test_staff_find_customers(
    ops: User, world: dict[str, Any], query: str, found: list[str]
) -> None:
    assert customers(ops, f"{query}&ordering=name") == found


@pytest.mark.parametrize("query", ["key_sync_status=exploded", "search=" + "x" * 101])
def test_bad_customer_filters_are_a_400(ops: User, world: dict[str, Any], query: str) -> None:
    response = api_as(ops).get(f"/api/v1/customers?{query}")
    assert response.status_code == 400
    assert response.json()["errors"]


def test_a_customer_finds_only_its_own_organisation(alice: User, world: dict[str, Any]) -> None:
    assert customers(alice, "search=glob") == []
    assert customers(alice, "search=%40globex.test") == []
    assert customers(alice, "key_sync_status=failed") == ["Acme"]


@pytest.mark.parametrize(
    ("query", "found"),
    [
        ("search=product", ["production"]),  # part of the name
        ("search=Xk2", ["production"]),  # the start of the prefix
        ("search=abc123def", ["ci runner"]),  # the API Gateway id
        ("search=nothing", []),
        ("tier=premium", ["ci runner"]),
        ("tier=free", ["production"]),
        ("tier=platinum", []),
        ("sync_status=failed&revoked=false", ["production"]),
        ("sync_status=failed", ["old", "production"]),
        ("search=o&tier=free", ["production"]),
    ],
)
def test_staff_find_keys(ops: User, world: dict[str, Any], query: str, found: list[str]) -> None:
    assert keys(ops, query) == found


def test_a_key_is_found_by_its_id(ops: User, world: dict[str, Any]) -> None:
    assert keys(ops, f"search={world['waiting'].public_id}") == ["ci runner"]


def test_a_customer_searches_only_its_own_keys(alice: User, world: dict[str, Any]) -> None:
    assert keys(alice, "search=ci") == []
    assert keys(alice, "tier=premium") == []
    assert keys(alice, "search=prod") == ["production"]


def test_a_key_search_too_long_is_a_400(ops: User, world: dict[str, Any]) -> None:
    assert api_as(ops).get("/api/v1/keys?search=" + "y" * 101).status_code == 400


def test_the_schema_documents_the_filters(db: None) -> None:
    schema = Client().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()

    def parameters(path: str) -> dict[str, Any]:
        return {p["name"]: p for p in schema["paths"][path]["get"]["parameters"]}

    listed = parameters("/api/v1/customers")
    assert {"search", "tier", "has_tier", "key_sync_status", "cursor", "limit"} <= set(listed)
    assert listed["key_sync_status"]["schema"]["enum"] == ["drifted", "failed", "pending"]
    assert "email" in listed["search"]["description"]
    assert {"search", "tier", "sync_status"} <= set(parameters("/api/v1/keys"))
