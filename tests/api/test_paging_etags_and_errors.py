"""The API's plumbing: cursor pagination, ordering, ETags, and the one error shape."""

from __future__ import annotations

from typing import Any

from keys.models import ApiKey
from keys.services import key_create
from portal.accounts.models import User
from portal.customers.models import Customer
from tests.fixtures.api import ApiClient, api_as


def test_lists_are_cursor_paginated_and_ordered(alice: User, acme: Customer) -> None:
    for name in ("b", "c", "a"):
        key_create(actor=alice, customer=acme, name=name)
    client = api_as(alice)

    first = client.get("/api/v1/keys?ordering=name&limit=2").json()
    assert [k["name"] for k in first["results"]] == ["a", "b"]
    assert first["previous"] is None
    second = client.get(first["next"].replace("http://testserver", "")).json()
    assert [k["name"] for k in second["results"]] == ["c"]
    assert second["next"] is None


def test_an_unknown_cursor_is_a_404_problem(alice: User) -> None:
    response = api_as(alice).get("/api/v1/keys?cursor=nonsense")

    assert response.status_code == 404
    assert response.json()["detail"] == "Invalid cursor"


def test_reads_carry_an_etag_and_answer_304_when_unchanged(alice: User, acme_key: ApiKey) -> None:
    client = api_as(alice)
    path = f"/api/v1/keys/{acme_key.public_id}"
    first = client.get(path)
    etag = first["ETag"]
    assert etag.startswith('"') and "Authorization" in first["Vary"]

    unchanged = client.get(path, HTTP_IF_NONE_MATCH=etag)
    assert unchanged.status_code == 304
    assert unchanged.content == b""
    assert unchanged["ETag"] == etag

    client.patch(path, {"name": "renamed"})
    changed = client.get(path, HTTP_IF_NONE_MATCH=etag)
    assert changed.status_code == 200
    assert changed["ETag"] != etag


def test_a_bad_filter_is_a_400_naming_the_field(alice: User) -> None:
    response = api_as(alice).get("/api/v1/usage/days?from=yesterday&key=nope")

    assert response.status_code == 400
    body = response.json()
    assert body["type"] == "validation_error"
    assert body["errors"] == {"from": ["Enter a valid date."], "key": ["Enter a valid UUID."]}


def test_malformed_json_is_a_400_problem(alice: User) -> None:
    client = ApiClient()
    client.client.force_login(alice)
    response = client.client.post("/api/v1/keys", data="{nope", content_type="application/json")

    assert response.status_code in (400, 403)  # CSRF first for a session
    token_client = api_as(alice)
    response = token_client.client.post(
        "/api/v1/keys",
        data="{nope",
        content_type="application/json",
        headers={"Authorization": token_client.headers["HTTP_AUTHORIZATION"]},
    )
    assert response.status_code == 400
    assert response.json()["type"] == "parse_error"


def test_an_unknown_path_and_a_huge_id_are_404_problems(admin: User) -> None:
    client = api_as(admin)
    for path in ("/api/v1/nothing", "/api/v1/customers/99999999999999999999999"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert response.json()["title"] == "Not found"


def test_too_many_requests_is_a_429_problem(alice: User, settings: Any) -> None:
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"user": "2/min"},
    }
    from django.core.cache import cache

    cache.delete(f"throttle_user_{alice.pk}")  # earlier tests' requests by the same id
    client = api_as(alice)
    statuses = [client.get("/api/v1/me").status_code for _ in range(3)]

    assert statuses == [200, 200, 429]
    response = client.get("/api/v1/me")
    assert response.json()["type"] == "throttled"
    assert int(response["Retry-After"]) > 0


def test_an_unexpected_error_is_a_500_problem(admin: User, monkeypatch: Any) -> None:
    from portal.reconcile import selectors

    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(selectors, "sync_health", broken)
    client = api_as(admin)
    client.client.raise_request_exception = False

    response = client.get("/api/v1/sync/status")

    assert response.status_code == 500
    assert response.json() == {
        "type": "server_error",
        "title": "Server error",
        "detail": "Something went wrong on our side; it has been logged.",
        "errors": {},
    }
