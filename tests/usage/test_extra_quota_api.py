"""POST /api/v1/keys/{id}/extra-quota: the console's grant-quota form
(portal.usage.quota.grant_extra_quota), with API Gateway's UpdateUsage answered here."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import timezone

from keys.models import ApiKey
from plans.models import Plan
from portal.accounts.models import User
from portal.audit.models import AuditEvent
from portal.aws import usage as aws_usage
from portal.usage.models import UsageDay
from tests.fixtures.api import api_as


@pytest.fixture
def update_usage(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str, int]]:
    calls: list[tuple[str, str, int]] = []
    monkeypatch.setattr(
        aws_usage,
        "set_remaining_quota",
        lambda plan_id, key_id, remaining: calls.append((plan_id, key_id, remaining)),
    )
    return calls


@pytest.fixture
def in_aws(acme_key: ApiKey, tiers: dict[str, Plan]) -> ApiKey:
    """Acme's key and its tier (Free: 1,000 a day) have reached API Gateway."""
    Plan.objects.filter(pk=tiers["Free"].pk).update(aws_id="plan1")
    ApiKey.objects.filter(pk=acme_key.pk).update(aws_id="key1")
    acme_key.refresh_from_db()
    return acme_key


def url(key: ApiKey) -> str:
    return f"/api/v1/keys/{key.public_id}/extra-quota"


def test_an_admin_grants_extra_quota(
    admin: User, in_aws: ApiKey, update_usage: list[Any], tiers: dict[str, Plan]
) -> None:
    UsageDay.objects.create(
        key=in_aws, plan=tiers["Free"], date=timezone.now().date(), used=300, remaining=700
    )

    response = api_as(admin).post(url(in_aws), {"requests": 500})

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["key"], body["extra"], body["remaining"]) == (str(in_aws.public_id), 500, 1200)
    assert body["resets_at"] is not None  # the day's end: a DAY quota
    assert update_usage == [("plan1", "key1", 1200)]
    assert UsageDay.objects.get(key=in_aws).remaining == 1200
    event = AuditEvent.objects.get(action="key.quota_extended")
    assert (event.actor, event.target_id) == (admin, str(in_aws.pk))
    assert event.after is not None and event.after["extra"] == 500


def test_a_key_not_in_api_gateway_is_refused_and_nothing_changes(
    admin: User, acme_key: ApiKey, update_usage: list[Any]
) -> None:
    response = api_as(admin).post(url(acme_key), {"requests": 500})

    assert response.status_code == 400
    assert response.json()["type"] == "refused"
    assert response.json()["detail"] == "The key is not in API Gateway yet (or was revoked)."
    assert update_usage == []
    assert not UsageDay.objects.exists()
    assert not AuditEvent.objects.filter(action="key.quota_extended").exists()


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({}, {"requests": ["This field is required."]}),
        ({"requests": 0}, {"requests": ["Ensure this value is greater than or equal to 1."]}),
        (
            {"requests": 2_147_483_648},
            {"requests": ["Ensure this value is less than or equal to 2147483647."]},
        ),
    ],
)
def test_a_bad_number_is_a_400_naming_the_field(
    admin: User, in_aws: ApiKey, update_usage: list[Any], body: Any, errors: Any
) -> None:
    response = api_as(admin).post(url(in_aws), body)

    assert response.status_code == 400
    assert response.json()["errors"] == errors
    assert update_usage == []


def test_ops_and_customers_may_not(
    ops: User, alice: User, in_aws: ApiKey, update_usage: list[Any]
) -> None:
    assert api_as(ops).post(url(in_aws), {"requests": 5}).status_code == 403
    assert api_as(alice).post(url(in_aws), {"requests": 5}).status_code == 403
    assert update_usage == []
    assert not AuditEvent.objects.filter(action="key.quota_extended").exists()


def test_an_unknown_key_is_a_404(admin: User, db: None) -> None:
    response = api_as(admin).post(
        "/api/v1/keys/0b8e8d7e-5a38-4a8e-9a55-3f0f2b7c9a11/extra-quota", {"requests": 5}
    )
    assert response.status_code == 404
    assert response.json()["type"] == "not_found"
