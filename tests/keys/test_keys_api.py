"""API keys through the API: the same services as the key pages."""

from __future__ import annotations

from typing import Any

import pytest

from keys.models import ApiKey
from portal.accounts.models import User
from portal.audit.models import AuditEvent
from portal.aws import apigateway as aws
from portal.customers.models import Customer
from portal.sync import SyncStatus
from tests.fixtures.api import api_as

SECRET = "Xk2p9s3cr3tVALUEfromApiGateway0123456789"


def issued(key: ApiKey) -> ApiKey:
    """What the sync task leaves behind once API Gateway has generated the secret."""
    digest, prefix = aws.secret_fingerprint(SECRET)
    ApiKey.objects.filter(pk=key.pk).update(
        aws_id="k123", secret_sha256=digest, display_prefix=prefix, sync_status=SyncStatus.SYNCED
    )
    key.refresh_from_db()
    return key


@pytest.fixture
def aws_secret(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    asked: list[str] = []

    def get_api_key_secret(aws_id: str) -> str:
        asked.append(aws_id)
        return SECRET

    monkeypatch.setattr(aws, "get_api_key_secret", get_api_key_secret)
    return asked


def test_it_creates_a_pending_key_without_a_secret(alice: User, acme: Customer) -> None:
    response = api_as(alice).post("/api/v1/keys", {"name": "CI"})

    assert response.status_code == 201
    body = response.json()
    assert body["name"] == "CI"
    assert body["customer"] == acme.pk
    assert body["secret"] is None
    assert body["secret_state"] == "pending"
    assert body["sync"]["status"] == "pending"
    key = ApiKey.objects.get(public_id=body["id"])
    assert key.created_by == alice
    assert AuditEvent.objects.filter(action="key.created", target_id=str(key.pk)).exists()


def test_it_refuses_a_duplicate_name_with_the_services_message(
    alice: User, acme_key: ApiKey
) -> None:
    response = api_as(alice).post("/api/v1/keys", {"name": "production"})

    assert response.status_code == 400
    assert response.json()["errors"] == {"name": ["You already have a key named “production”."]}
    assert ApiKey.objects.filter(name="production").count() == 1


def test_it_refuses_an_empty_name(alice: User) -> None:
    response = api_as(alice).post("/api/v1/keys", {"name": "  "})

    assert response.status_code == 400
    assert response.json()["errors"]["name"] == [
        "Give the key a name, such as “production” or “CI”."
    ]


def test_staff_must_say_whose_key_it_is(admin: User, acme: Customer) -> None:
    response = api_as(admin).post("/api/v1/keys", {"name": "ops"})
    assert response.status_code == 400
    assert response.json()["errors"] == {"customer": ["Say which customer the key is for."]}

    response = api_as(admin).post("/api/v1/keys", {"name": "ops", "customer": acme.pk})
    assert response.status_code == 201
    assert response.json()["customer"] == acme.pk


def test_it_renames_and_disables(alice: User, acme_key: ApiKey) -> None:
    response = api_as(alice).patch(
        f"/api/v1/keys/{acme_key.public_id}", {"name": "prod", "enabled": False}
    )

    assert response.status_code == 200
    assert response.json()["name"] == "prod"
    assert response.json()["state"] == "disabled"
    acme_key.refresh_from_db()
    assert (acme_key.name, acme_key.enabled) == ("prod", False)


def test_a_rejected_change_changes_nothing(alice: User, acme_key: ApiKey) -> None:
    api_as(alice).post("/api/v1/keys", {"name": "other"})
    response = api_as(alice).patch(
        f"/api/v1/keys/{acme_key.public_id}", {"enabled": False, "name": "other"}
    )

    assert response.status_code == 400
    assert response.json()["errors"] == {"name": ["You already have a key named “other”."]}
    acme_key.refresh_from_db()
    assert acme_key.enabled is True


def test_it_revokes_with_delete_and_refuses_changes_afterwards(
    alice: User, acme_key: ApiKey
) -> None:
    client = api_as(alice)
    assert client.delete(f"/api/v1/keys/{acme_key.public_id}").status_code == 204
    acme_key.refresh_from_db()
    assert acme_key.revoked_at is not None

    response = client.post(f"/api/v1/keys/{acme_key.public_id}/revoke")
    assert response.status_code == 400
    assert response.json()["detail"] == "This key has been revoked; it can no longer be changed."


def test_it_retries_the_sync(alice: User, acme_key: ApiKey) -> None:
    ApiKey.objects.filter(pk=acme_key.pk).update(sync_status=SyncStatus.FAILED, sync_error="x")

    response = api_as(alice).post(f"/api/v1/keys/{acme_key.public_id}/retry-sync")

    assert response.status_code == 202
    assert response.json()["sync"]["status"] == "pending"
    acme_key.refresh_from_db()
    assert acme_key.desired_version == 2


def test_reveal_waits_for_api_gateway(alice: User, acme_key: ApiKey, aws_secret: Any) -> None:
    response = api_as(alice).post(f"/api/v1/keys/{acme_key.public_id}/reveal")

    assert response.status_code == 409
    assert "has not issued this key yet" in response.json()["detail"]
    assert aws_secret == []


def test_reveal_shows_the_secret_exactly_once(
    alice: User, acme_key: ApiKey, aws_secret: Any
) -> None:
    issued(acme_key)
    client = api_as(alice)
    assert client.get(f"/api/v1/keys/{acme_key.public_id}").json()["secret_state"] == "ready"

    first = client.post(f"/api/v1/keys/{acme_key.public_id}/reveal")
    assert first.status_code == 200
    assert first.json()["secret"] == SECRET
    assert first.json()["prefix"] == SECRET[:5]
    assert first["Cache-Control"] == "no-store"

    second = client.post(f"/api/v1/keys/{acme_key.public_id}/reveal")
    assert second.status_code == 410
    assert "already been shown" in second.json()["detail"]
    assert client.get(f"/api/v1/keys/{acme_key.public_id}").json()["secret_state"] == "shown"
    assert aws_secret == ["k123"]


def test_only_the_creator_may_reveal(alice: User, acme: Customer, aws_secret: Any) -> None:
    from portal.customers.models import Membership
    from tests.conftest import make_user

    colleague = make_user("dora@acme.test")
    Membership.objects.create(user=colleague, customer=acme, role="member")
    created = api_as(alice).post("/api/v1/keys", {"name": "a"}).json()
    key = issued(ApiKey.objects.get(public_id=created["id"]))

    response = api_as(colleague).post(f"/api/v1/keys/{key.public_id}/reveal")

    assert response.status_code == 403
    assert response.json()["detail"] == "Only the person who created this key may see its secret."
    assert aws_secret == []


def test_reveal_after_the_window_is_gone(
    alice: User, acme_key: ApiKey, aws_secret: Any, settings: Any
) -> None:
    issued(acme_key)
    settings.TOLLGATE = {**settings.TOLLGATE, "SECRET_REVEAL_WINDOW_HOURS": 0}

    response = api_as(alice).post(f"/api/v1/keys/{acme_key.public_id}/reveal")

    assert response.status_code == 410
    assert "within 0 hours" in response.json()["detail"]


def test_someone_else_learns_nothing_of_a_shown_secret(
    admin: User, alice: User, acme_key: ApiKey, aws_secret: Any
) -> None:
    """keys.selectors.secret_state checks “not yours” first: 403, not 410, for anyone but the
    creator — the page, the API and the service share that one rule."""
    issued(acme_key)
    assert api_as(alice).post(f"/api/v1/keys/{acme_key.public_id}/reveal").status_code == 200

    response = api_as(admin).post(f"/api/v1/keys/{acme_key.public_id}/reveal")

    assert response.status_code == 403
    assert response.json()["type"] == "permission_denied"
    assert api_as(admin).get(f"/api/v1/keys/{acme_key.public_id}").json()["secret_state"] == (
        "not_yours"
    )
    assert aws_secret == ["k123"]  # only alice's reveal asked AWS


def test_a_revoked_key_s_secret_is_gone(alice: User, acme_key: ApiKey, aws_secret: Any) -> None:
    issued(acme_key)
    client = api_as(alice)
    client.post(f"/api/v1/keys/{acme_key.public_id}/revoke")

    response = client.post(f"/api/v1/keys/{acme_key.public_id}/reveal")

    assert (response.status_code, response.json()["type"]) == (410, "gone")
    assert response.json()["detail"] == "This key has been revoked."
    assert aws_secret == []
