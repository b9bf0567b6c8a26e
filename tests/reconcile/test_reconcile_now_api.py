"""POST /api/v1/sync/reconcile: the drift page's “Reconcile now” (portal.reconcile.services)."""

from __future__ import annotations

from typing import Any

from portal.accounts.models import User
from portal.audit.models import AuditEvent
from tests.fixtures.api import api_as

URL = "/api/v1/sync/reconcile"


def test_an_admin_asks_for_a_reconcile_now(
    admin: User, sent_tasks: list[Any], django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = api_as(admin).post(URL)

    assert response.status_code == 202
    assert response.json() == {
        "detail": "Comparing Tollgate with API Gateway.",
        "status_url": "http://testserver/api/v1/sync/status",
    }
    assert sent_tasks == [("portal.reconcile.tasks.reconcile_with_aws", ())]
    assert AuditEvent.objects.get(action="reconcile.requested").actor == admin


def test_ops_may_not_and_nothing_happens(
    ops: User, sent_tasks: list[Any], django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = api_as(ops).post(URL)

    assert response.status_code == 403
    assert callbacks == [] and sent_tasks == []
    assert not AuditEvent.objects.filter(action="reconcile.requested").exists()


def test_a_read_token_may_not(admin: User, django_capture_on_commit_callbacks: Any) -> None:
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = api_as(admin, "read").post(URL)

    assert response.status_code == 403
    assert callbacks == []
    assert not AuditEvent.objects.filter(action="reconcile.requested").exists()
