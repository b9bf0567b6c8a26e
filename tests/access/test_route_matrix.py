"""Every route × every role, from the table in tests/access/matrix.py: the status, and the effect.

An allowed write must record its AuditEvents (by the person who asked) and, where the row says so,
schedule its task on commit (never send one before the commit); a read or a refusal must leave
every project table as it was, with no audit event, no task and no AWS call. A route the URL conf
has and the matrix does not fails the first test, by name.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from portal.audit.models import AuditEvent
from tests.access.conftest import PREPARE, database_rows
from tests.access.matrix import MATRIX, ROLES, Expect, Row

# Routes that are not Tollgate's own, by URL prefix, and why they need no row here.
THIRD_PARTY = {
    "accounts/": "django-allauth's own views (sign-up, login, password reset, e-mail); "
    "Tollgate's use of them is tested in tests/customers/test_signup_page.py",
    "django-admin/": "Django's admin site: its own is_staff/permission checks, not Tollgate's",
    "api/schema/": "drf-spectacular's OpenAPI document (public); tested in tests/api/test_schema.py",
    "api/docs/": "drf-spectacular's Swagger UI of that document (public, sidecar assets)",
    "api/redoc/": "drf-spectacular's Redoc of that document (public, sidecar assets)",
}
SAFE = {"head", "options"}


def walk(
    resolver: URLResolver, prefix: str = "", namespace: str = ""
) -> Iterator[tuple[str, str, Any]]:
    """(full name - or the pattern of an unnamed route -, full pattern, view) of every route."""
    for entry in resolver.url_patterns:
        pattern = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            inner = ":".join(filter(None, [namespace, entry.namespace]))
            yield from walk(entry, pattern, inner)
        elif isinstance(entry, URLPattern):
            if entry.name:
                name = f"{namespace}:{entry.name}" if namespace else entry.name
            else:
                name = pattern
            yield name, pattern, entry.callback


def routes() -> dict[str, tuple[str, Any]]:
    return {
        name: (pattern, view)
        for name, pattern, view in walk(get_resolver())
        if not pattern.startswith(tuple(THIRD_PARTY))
    }


def api_methods(view: Any) -> set[str]:
    """The HTTP methods a REST framework route answers (other than HEAD and OPTIONS)."""
    actions = getattr(view, "actions", None)
    if actions:  # a viewset route: {"get": "list", "post": "create"}
        return {method.upper() for method in actions if method not in SAFE}
    cls = getattr(view, "cls", None)
    if cls is None:
        return set()
    return {
        method.upper()
        for method in cls.http_method_names
        if method not in SAFE and hasattr(cls, method)
    }


def test_every_route_has_a_row() -> None:
    covered = {row.route for row in MATRIX}
    missing = sorted(
        f"{name} ({pattern})" for name, (pattern, _) in routes().items() if name not in covered
    )
    assert not missing, "routes without a row in tests/access/matrix.py: " + ", ".join(missing)


def test_every_api_method_has_a_row() -> None:
    covered = {(row.route, row.method) for row in MATRIX}
    missing = sorted(
        f"{name} {method}"
        for name, (_, view) in routes().items()
        for method in api_methods(view)
        if (name, method) not in covered
    )
    assert not missing, "API methods without a row: " + ", ".join(missing)


def test_every_row_names_a_route_and_is_there_once() -> None:
    known = routes()
    assert [row.route for row in MATRIX if row.route not in known] == []
    labels = [row.label for row in MATRIX]
    assert sorted({label for label in labels if labels.count(label) > 1}) == []


def test_the_third_party_routes_are_really_there() -> None:
    """An allow-list entry that matches nothing any more is a stale excuse: drop it."""
    patterns = [pattern for _, pattern, _ in walk(get_resolver())]
    assert [p for p in THIRD_PARTY if not any(x.startswith(p) for x in patterns)] == []


# --- the matrix ----------------------------------------------------------------------------------


def _fill(value: Any, world: dict[str, str], *, typed: bool) -> Any:
    """Placeholders → the world's objects; "{acme}" alone becomes a number in a JSON body."""
    if isinstance(value, str):
        filled = value.format(**world)
        if typed and value.startswith("{") and value.endswith("}") and filled.isdigit():
            return int(filled)
        return filled
    if isinstance(value, list):
        return [_fill(item, world, typed=typed) for item in value]
    if isinstance(value, dict):
        return {k: _fill(v, world, typed=typed) for k, v in value.items()}
    return value


def _send(client: Client, row: Row, world: dict[str, str]) -> Any:
    url = row.path or reverse(row.route, kwargs=_fill(row.kwargs, world, typed=False))
    if not row.writes or (row.method == "DELETE" and row.data is None):
        return client.generic(row.method, url)
    if row.upload:
        return client.post(url, {"file": SimpleUploadedFile("keys.csv", row.upload, "text/csv")})
    if row.api:
        body = json.dumps(_fill(row.data or {}, world, typed=True))
        return client.generic(row.method, url, body, content_type="application/json")
    return client.post(url, _fill(row.data or {}, world, typed=False))  # a form, CSRF off


def _check_response(response: Any, expect: Expect, world: dict[str, str]) -> None:
    body = response.content.decode(errors="replace")
    status = expect.status
    if isinstance(status, range):
        assert response.status_code in status, body[:2000]
    else:
        assert response.status_code == status, body[:2000]
    if expect.redirect:
        assert response["Location"].startswith(expect.redirect.format(**world))
    for text in expect.contains:
        assert text.format(**world) in body
    for text in expect.lacks:
        assert text.format(**world) not in body


def _case(row: Row, role: str) -> Any:
    expect = row.expect(role)
    marks = [pytest.mark.xfail(strict=True, reason=expect.xfail)] if expect.xfail else []
    return pytest.param(row, role, id=f"{row.label} {role}", marks=marks)


CASES = [_case(row, role) for row in MATRIX for role in ROLES]


@pytest.mark.parametrize(("row", "role"), CASES)
def test_route_matrix(
    row: Row,
    role: str,
    world: dict[str, str],
    client_as: Callable[[str, bool], Client],
    aws_calls: list[str],
    task_sends: list[str],
    request: pytest.FixtureRequest,
    django_capture_on_commit_callbacks: Any,
) -> None:
    expect = row.expect(role)
    if row.prepare:
        PREPARE[row.prepare](world)
    client = client_as(role, row.api)
    user_id = None if role == "anonymous" else request.getfixturevalue(role).pk
    last_event = AuditEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    before = database_rows()
    aws_calls.clear()
    task_sends.clear()  # whatever the world's set-up sent; only this request's count

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = _send(client, row, world)

    _check_response(response, expect, world)
    events = list(AuditEvent.objects.filter(pk__gt=last_event).values_list("action", "actor_id"))
    after = database_rows()
    assert task_sends == [], "a task was sent before the transaction committed"
    if expect.allowed and row.writes:
        assert sorted(action for action, _ in events) == sorted(row.audit)  # one each
        assert {actor for _, actor in events} <= {user_id}, "recorded as someone else"
        if row.changes:
            assert after != before, "an allowed write changed nothing"
        if row.sync:
            assert callbacks, "an allowed write scheduled no task on commit"
        else:
            # Run as the commit would: a write that syncs nothing sends no task (a callback may
            # still forget a cached figure, as plans.selectors.forget_customers_per_tier does).
            for callback in callbacks:
                callback()
            assert task_sends == [], "a write that syncs nothing sent a task on commit"
    else:  # a read, or a refusal: nothing at all happened
        assert events == []
        assert callbacks == []
        assert aws_calls == []
        assert after == before
