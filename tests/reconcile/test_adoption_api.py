"""/api/v1/sync/foreign-usage-plans: the console's import page (portal.reconcile.adoption), with
the usage plan made outside Tollgate in the local API Gateway."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import timezone

from keys.models import ApiKey
from plans.models import Plan
from portal.accounts.models import User
from portal.audit.models import AuditEvent
from portal.customers.models import Customer
from portal.reconcile.models import ReconcileRun
from tests.fixtures.api import api_as

URL = "/api/v1/sync/foreign-usage-plans"


@pytest.fixture
def foreign(apigw: Any, demo_api: tuple[str, str]) -> dict[str, Any]:
    """A usage plan and its key, made in the AWS console; the last reconcile listed it."""
    api_id, stage = demo_api
    plan = apigw.create_usage_plan(
        name="Legacy gold",
        description="Made in the console",
        apiStages=[{"apiId": api_id, "stage": stage}],
        throttle={"rateLimit": 20.0, "burstLimit": 40},
        quota={"limit": 5000, "period": "MONTH", "offset": 0},
    )
    key = apigw.create_api_key(name="partner-0", enabled=True, value="legacy-secret-value-0000xx")
    apigw.create_usage_plan_key(usagePlanId=plan["id"], keyId=key["id"], keyType="API_KEY")
    ReconcileRun.objects.create(
        finished_at=timezone.now(),
        foreign_usage_plans=[
            {"id": plan["id"], "name": "Legacy gold", "description": "Made in the console"}
        ],
    )
    return plan


def test_staff_list_what_the_last_reconcile_found(ops: User, foreign: dict[str, Any]) -> None:
    response = api_as(ops).get(URL)

    assert response.status_code == 200
    body = response.json()
    assert body["found_at"] is not None
    assert body["results"] == [
        {
            "id": foreign["id"],
            "name": "Legacy gold",
            "description": "Made in the console",
            "where": "",
            "region": "",
            "connection": None,
            "tier": None,
        }
    ]


def test_before_any_reconcile_the_list_is_empty(ops: User, db: None) -> None:
    assert api_as(ops).get(URL).json() == {"found_at": None, "results": []}


def test_an_admin_adopts_a_usage_plan(
    admin: User,
    foreign: dict[str, Any],
    sent_tasks: list[Any],
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = api_as(admin).post(
            f"{URL}/{foreign['id']}/adopt", {"new_customer": "Partners Inc", "tier_name": "Gold"}
        )

    assert response.status_code == 201, response.content
    customer = Customer.objects.get(name="Partners Inc")
    assert response.json() == {
        "tier": "gold",
        "customer": customer.pk,
        "customer_name": "Partners Inc",
        "keys_imported": 1,
    }
    plan = Plan.objects.get(slug="gold")
    assert (plan.aws_id, plan.listed, plan.self_serve) == (foreign["id"], False, False)
    key = ApiKey.objects.get(customer=customer)
    assert key.imported_aws_name == "partner-0"
    # Recorded as the admin's doing (the adoption's own services name the events).
    assert AuditEvent.objects.filter(actor=admin, target_id=str(plan.pk)).exists()
    assert "plans.tasks.sync_plan" in {name for name, _ in sent_tasks}
    # The list now says what it became.
    assert api_as(admin).get(URL).json()["results"][0]["tier"] == "gold"


def test_a_refusal_changes_nothing(
    admin: User,
    foreign: dict[str, Any],
    sent_tasks: list[Any],
    django_capture_on_commit_callbacks: Any,
) -> None:
    client = api_as(admin)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        nobody = client.post(f"{URL}/{foreign['id']}/adopt", {})
        missing = client.post(f"{URL}/nope123/adopt", {"new_customer": "X"})

    assert nobody.status_code == 400
    assert nobody.json()["errors"] == {
        "customer": ["Choose a customer for the plan's keys, or name a new one."]
    }
    assert missing.status_code == 400
    assert missing.json()["detail"] == "AWS has no such usage plan any more."
    assert callbacks == [] and sent_tasks == []
    assert not Plan.objects.filter(aws_id=foreign["id"]).exists()
    assert not Customer.objects.filter(name="X").exists()


def test_ops_may_not_adopt(ops: User, foreign: dict[str, Any]) -> None:
    response = api_as(ops).post(f"{URL}/{foreign['id']}/adopt", {"new_customer": "X"})

    assert response.status_code == 403
    assert not Plan.objects.filter(aws_id=foreign["id"]).exists()
