"""Bodies a customer can send that must never be a 500: JSON nested 100,000 deep (a
RecursionError in json.load) and a body over DATA_UPLOAD_MAX_MEMORY_SIZE (portal/rest/parsers.py)."""

from __future__ import annotations

import json

from django.conf import settings
from django.test import Client

from keys.models import ApiKey
from portal.accounts.models import User
from portal.audit.models import AuditEvent
from portal.rest.parsers import MAX_DEPTH, nesting_depth
from tests.conftest import login
from tests.fixtures.api import token_for


def _post_raw(user: User, body: str) -> tuple[int, dict[str, object]]:
    token = token_for(user)
    response = Client().post(
        "/api/v1/keys",
        data=body,
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}"},
    )
    return response.status_code, response.json()


def test_a_body_nested_100000_deep_is_a_400_problem(alice: User) -> None:
    status, problem = _post_raw(alice, "[" * 100_000 + "]" * 100_000)

    assert status == 400
    assert problem["type"] == "parse_error"
    assert f"more than {MAX_DEPTH} levels" in str(problem["detail"])
    assert not ApiKey.objects.exists()
    assert not AuditEvent.objects.filter(action="key.created").exists()


def test_a_body_of_2_6_mb_is_a_413_problem(alice: User) -> None:
    body = json.dumps({"name": "big", "padding": "x" * int(2.6 * 1024 * 1024)})
    assert len(body) > settings.DATA_UPLOAD_MAX_MEMORY_SIZE

    status, problem = _post_raw(alice, body)

    assert status == 413
    assert problem["type"] == "payload_too_large"
    assert set(problem) == {"type", "title", "detail", "errors"}
    assert not ApiKey.objects.exists()


def test_a_page_form_over_the_limit_is_a_400_page(alice: User) -> None:
    body = "name=" + "x" * int(2.6 * 1024 * 1024)
    response = login(alice).post(
        "/app/keys/new/", data=body, content_type="application/x-www-form-urlencoded"
    )

    assert response.status_code == 400
    assert not ApiKey.objects.exists()


def test_depth_ignores_brackets_inside_strings() -> None:
    assert nesting_depth('{"a": [1, {"b": "[[[[{{{\\"]]]"}]}') == 3
    assert nesting_depth('"just a string"') == 0


def test_ordinary_bodies_still_parse(alice: User) -> None:
    status, body = _post_raw(alice, json.dumps({"name": "[not] {nested}"}))

    assert status == 201
    assert body["name"] == "[not] {nested}"
