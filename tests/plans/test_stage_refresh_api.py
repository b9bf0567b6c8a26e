"""POST /api/v1/stages/refresh: the console's “Refresh from AWS” (plans.services)."""

from __future__ import annotations

from typing import Any

from portal.accounts.models import User
from portal.audit.models import AuditEvent
from tests.fixtures.api import api_as

URL = "/api/v1/stages/refresh"


def test_an_admin_asks_for_a_discovery_now(
    admin: User, sent_tasks: list[Any], django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = api_as(admin).post(URL)

    assert response.status_code == 202
    body = response.json()
    assert body["detail"] == "Looking for REST API stages in AWS."
    assert body["requested_at"] is not None
    assert sent_tasks == [("plans.tasks.discover_stages", ())]
    event = AuditEvent.objects.get(action="stages.refresh_requested")
    assert event.actor == admin


def test_ops_and_customers_are_refused_and_nothing_happens(
    ops: User, alice: User, sent_tasks: list[Any], django_capture_on_commit_callbacks: Any
) -> None:
    for user, detail in (
        (ops, "Ops can read everything but change nothing."),
        (alice, "Only Tollgate staff can see this."),
    ):
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            response = api_as(user).post(URL)
        assert response.status_code == 403
        assert response.json()["detail"] == detail
        assert callbacks == []
    assert sent_tasks == []
    assert not AuditEvent.objects.filter(action="stages.refresh_requested").exists()


def test_it_is_documented_with_an_example(db: None) -> None:
    from django.test import Client

    schema = Client().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    operation = schema["paths"][URL]["post"]
    assert "202" in operation["responses"]
    assert operation["responses"]["202"]["content"]["application/json"]["examples"]
