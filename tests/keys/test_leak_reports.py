"""POST /api/v1/keys/leaked: a secret scanner reports values it found; a live key's value gets its
organisation's leak response in the local AWS (read back over HTTP), anything else the very same
answer. Only a leak-report token gets in, and such a token gets nowhere else."""

from __future__ import annotations

import hashlib
import statistics
import time
from typing import Any

import pytest
from botocore.exceptions import ClientError
from django.apps import apps
from django.core import mail
from django.core.cache import cache
from django.core.exceptions import ValidationError

from keys.leaks import digests_to_look_up
from keys.models import ApiKey, DisableReason
from keys.rotation import GRACES, key_rotate
from keys.services import key_create, key_revoke, key_set_enabled
from plans.models import Plan
from portal.accounts.models import StaffRole, User
from portal.audit.models import AuditEvent
from portal.aws.apigateway import secret_fingerprint
from portal.aws.apigateway.key_values import new_key_value
from portal.customers.models import Customer
from portal.tokens.forms import TokenForm
from portal.tokens.models import TokenScope
from tests.conftest import login
from tests.fixtures.api import ApiClient, api_as, token_for

URL = "/api/v1/keys/leaked"


@pytest.fixture(autouse=True)
def quick_answers(settings: Any) -> None:
    settings.TOLLGATE = {**settings.TOLLGATE, "LEAK_REPORT_ANSWER_SECONDS": 0.05}


@pytest.fixture
def scanner(admin: User) -> ApiClient:
    """What an admin hands a secret scanner: a token of scope "leaks"."""
    return api_as(admin, TokenScope.LEAKS)


def rows_holding(value: str) -> list[str]:
    found = []
    for model in apps.get_models():
        for row in model._default_manager.values():
            if value in repr(row):
                found.append(f"{model._meta.label} {row.get('id')}")
    return found


# --- in the local AWS ---------------------------------------------------------------------------


def issued(
    owner: User, customer: Customer, apigw: Any, settle: Any, name: str
) -> tuple[ApiKey, str]:
    key = key_create(actor=owner, customer=customer, name=name)
    settle()
    key.refresh_from_db()
    return key, apigw.get_api_key(apiKey=key.aws_id, includeValue=True)["value"]


@pytest.mark.integration
def test_a_reported_key_is_disabled_in_aws(
    owner: User, initech: Customer, apigw: Any, settle: Any, scanner: ApiClient, admin: User
) -> None:
    key, value = issued(owner, initech, apigw, settle, "production")
    other, _ = issued(owner, initech, apigw, settle, "staging")
    mail.outbox.clear()

    response = scanner.post(URL, {"values": [value, new_key_value(), "not-a-key-at-all-0123456"]})
    assert response.status_code == 202
    assert response.json() == {"received": 3}
    settle()

    assert apigw.get_api_key(apiKey=key.aws_id)["enabled"] is False
    assert apigw.get_api_key(apiKey=other.aws_id)["enabled"] is True
    key.refresh_from_db()
    assert (key.enabled, key.disabled_reason) == (False, DisableReason.LEAKED)
    [event] = AuditEvent.objects.filter(action="key.leak_reported")
    assert (event.target_id, event.customer_id) == (str(key.pk), initech.pk)
    assert event.after == {"action": "disabled", "setting": "disable"}
    assert event.actor_id == admin.pk
    [email] = mail.outbox
    assert email.to == ["dana@initech.test"]
    assert "“production”" in email.subject and "disabled" in email.subject
    assert value not in email.body and key.display_prefix in email.body
    assert rows_holding(value) == []

    # Reported again (scanners find the same file twice): nothing more happens.
    assert scanner.post(URL, {"values": [value]}).json() == {"received": 1}
    assert len(mail.outbox) == 1
    assert AuditEvent.objects.filter(action="key.leak_reported").count() == 2
    assert AuditEvent.objects.filter(action="key.disabled").count() == 1


@pytest.mark.integration
def test_a_reported_key_is_rolled_when_the_organisation_asks(
    owner: User,
    initech: Customer,
    apigw: Any,
    settle: Any,
    scanner: ApiClient,
    live_tiers: dict[str, Plan],
) -> None:
    Customer.objects.filter(pk=initech.pk).update(leaked_key_action="roll")
    key, value = issued(owner, initech, apigw, settle, "production")
    mail.outbox.clear()

    assert scanner.post(URL, {"values": [value]}).status_code == 202
    settle()

    key.refresh_from_db()
    assert key.is_revoked
    with pytest.raises(ClientError) as gone:
        apigw.get_api_key(apiKey=key.aws_id)
    assert gone.value.response["Error"]["Code"] == "NotFoundException"
    new = ApiKey.objects.live().get(customer=initech)
    assert new.rotated_from_id == key.pk and new.created_by == owner
    assert apigw.get_api_key(apiKey=new.aws_id)["enabled"] is True
    plan_keys = apigw.get_usage_plan_keys(usagePlanId=live_tiers["Free"].aws_id)["items"]
    assert [k["id"] for k in plan_keys] == [new.aws_id]
    [event] = AuditEvent.objects.filter(action="key.leak_reported")
    assert event.after == {
        "action": "rolled",
        "setting": "roll",
        "replacement": str(new.public_id),
    }
    [email] = mail.outbox
    assert "replaced" in email.subject and new.name in email.body


@pytest.mark.integration
def test_matched_or_not_the_answer_is_the_same(
    owner: User, initech: Customer, apigw: Any, settle: Any, scanner: ApiClient, settings: Any
) -> None:
    settings.TOLLGATE = {**settings.TOLLGATE, "LEAK_REPORT_ANSWER_SECONDS": 0.4}
    keys = [issued(owner, initech, apigw, settle, f"key {n}") for n in range(3)]

    def timed(values: list[str]) -> tuple[int, bytes, float]:
        started = time.monotonic()
        response = scanner.post(URL, {"values": values})
        return response.status_code, response.content, time.monotonic() - started

    unknown = [timed([new_key_value()]) for _ in range(3)]
    matched = [timed([value]) for _, value in keys]
    mistyped = [timed([keys[0][1][:-1] + ("A" if keys[0][1][-1] != "A" else "B")])]

    assert {(s, body) for s, body, _ in unknown + matched + mistyped} == {(202, b'{"received":1}')}
    slow = [t for *_, t in unknown + matched + mistyped]
    assert min(slow) >= 0.4
    # The leak response (locks, writes, audit, email) fits in the floor: the same time.
    assert (
        abs(statistics.median(t for *_, t in matched) - statistics.median(t for *_, t in unknown))
        < 0.1
    )
    settle()
    assert [apigw.get_api_key(apiKey=k.aws_id)["enabled"] for k, _ in keys] == [False] * 3


# --- who may report (no AWS) -------------------------------------------------------------------


def test_only_a_leak_token_is_taken(
    db: None, admin: User, ops: User, alice: User, acme_key: ApiKey
) -> None:
    body = {"values": [new_key_value()]}
    assert ApiClient().post(URL, body).status_code == 401
    for user, scope in ((admin, TokenScope.WRITE), (admin, TokenScope.READ), (alice, "write")):
        response = api_as(user, scope).post(URL, body)
        assert response.status_code == 403, (user, scope)
        assert "leak-report token" in response.json()["detail"]

    assert login(admin).post(URL, body, content_type="application/json").status_code == 403


def test_a_leak_token_can_do_nothing_else(db: None, scanner: ApiClient, acme_key: ApiKey) -> None:
    events = AuditEvent.objects.count()
    for method, path, body in (
        ("get", "/api/v1/me", None),
        ("get", "/api/v1/keys", None),
        ("get", f"/api/v1/keys/{acme_key.public_id}", None),
        ("post", "/api/v1/keys", {"name": "CI", "customer": acme_key.customer_id}),
        ("patch", f"/api/v1/keys/{acme_key.public_id}", {"enabled": False}),
        ("post", f"/api/v1/keys/{acme_key.public_id}/reveal", None),
        ("get", "/api/v1/tokens", None),
        ("get", "/api/v1/customers", None),
        ("post", "/api/v1/sync/reconcile", None),
    ):
        response = getattr(scanner, method)(path, *([body] if body is not None else []))
        assert response.status_code == 403, (method, path)
        assert "only report leaked keys" in response.json()["detail"]
    acme_key.refresh_from_db()
    assert acme_key.enabled
    assert AuditEvent.objects.count() == events


def test_a_leak_token_stops_working_when_its_owner_is_no_longer_admin(
    db: None, admin: User, scanner: ApiClient
) -> None:
    body = {"values": [new_key_value()]}
    assert scanner.post(URL, body).status_code == 202
    User.objects.filter(pk=admin.pk).update(staff_role=StaffRole.OPS)
    assert scanner.post(URL, body).status_code == 403


def test_only_admins_create_leak_tokens(db: None, admin: User, ops: User, alice: User) -> None:

    for user in (ops, alice):
        with pytest.raises(ValidationError, match="Only Tollgate admins"):
            token_for(user, TokenScope.LEAKS)
        assert TokenScope.LEAKS not in dict(TokenForm(user=user).fields["scope"].choices)  # type: ignore[attr-defined]
    assert TokenScope.LEAKS in dict(TokenForm(user=admin).fields["scope"].choices)  # type: ignore[attr-defined]
    assert token_for(admin, TokenScope.LEAKS).startswith("tg_")


def test_the_tokens_page_makes_a_leak_token_for_an_admin(db: None, admin: User) -> None:

    page = login(admin).post(
        "/settings/tokens/", {"name": "scanner", "scope": "leaks", "expires_in": "90"}
    )
    assert page.status_code == 200
    assert b"/api/v1/keys/leaked" in page.content
    assert admin.access_tokens.get().scope == TokenScope.LEAKS


def test_past_its_rate_the_endpoint_answers_429(db: None, admin: User, settings: Any) -> None:

    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"user": "100000/min", "leak_reports": "2/min"},
    }
    cache.delete(f"throttle_leak_reports_{admin.pk}")
    scanner = api_as(admin, TokenScope.LEAKS)
    body = {"values": [new_key_value()]}
    assert [scanner.post(URL, body).status_code for _ in range(3)] == [202, 202, 429]
    response = scanner.post(URL, body)
    assert response.json()["type"] == "throttled" and int(response["Retry-After"]) > 0


def test_reports_are_bounded_and_errors_echo_no_value(db: None, scanner: ApiClient) -> None:
    value = new_key_value()
    for n, body in enumerate(
        (
            {"values": [value] * 101},
            {"values": [value + "x" * 100]},
            {"values": []},
            {"values": value},
            {"values": [value, 12]},
            {},
        )
    ):
        response = scanner.post(URL, body)
        assert response.status_code == 400, n  # (never the value in a message)
        assert value[3:20] not in response.content.decode()


# --- the response, without AWS (the sync tasks of a `db` test are never sent) -------------------


def with_secret(key: ApiKey) -> str:
    """Give `key` (never synced) the fingerprint of a fresh value, as the worker would."""

    value = new_key_value()
    digest, prefix = secret_fingerprint(value)
    ApiKey.objects.filter(pk=key.pk).update(secret_sha256=digest, display_prefix=prefix)
    return value


def test_a_key_disabled_by_a_person_stays_disabled_and_is_not_rolled(
    db: None, alice: User, acme: Customer, acme_key: ApiKey, scanner: ApiClient
) -> None:

    Customer.objects.filter(pk=acme.pk).update(leaked_key_action="roll")
    value = with_secret(acme_key)
    key_set_enabled(actor=alice, key=acme_key, enabled=False)

    assert scanner.post(URL, {"values": [value]}).status_code == 202
    acme_key.refresh_from_db()
    assert (acme_key.enabled, acme_key.disabled_reason) == (False, DisableReason.LEAKED)
    assert ApiKey.objects.live().filter(customer=acme).count() == 1  # no replacement
    [event] = AuditEvent.objects.filter(action="key.leak_reported")
    assert event.after == {"action": "disabled", "setting": "roll"}


def test_a_key_whose_rotation_is_under_way_is_disabled_instead(
    db: None, alice: User, acme: Customer, acme_key: ApiKey, scanner: ApiClient
) -> None:

    Customer.objects.filter(pk=acme.pk).update(leaked_key_action="roll")
    value = with_secret(acme_key)
    new = key_rotate(actor=alice, key=acme_key, grace=GRACES["24h"])

    assert scanner.post(URL, {"values": [value]}).status_code == 202
    acme_key.refresh_from_db()
    assert (acme_key.enabled, acme_key.disabled_reason) == (False, DisableReason.LEAKED)
    assert set(ApiKey.objects.live().filter(customer=acme)) == {acme_key, new}
    [event] = AuditEvent.objects.filter(action="key.leak_reported")
    assert (event.after or {}).get("action") == "disabled"


def test_revoked_keys_and_mistyped_values_are_left_alone(
    db: None, alice: User, acme_key: ApiKey, scanner: ApiClient
) -> None:

    value = with_secret(acme_key)
    typo = value[:5] + ("x" if value[5] != "x" else "y") + value[6:]
    assert digests_to_look_up([typo, "short", "Imp0rtedSecretValue0002xyz"]) == {
        hashlib.sha256(b"Imp0rtedSecretValue0002xyz").hexdigest()
    }
    assert scanner.post(URL, {"values": [typo]}).status_code == 202
    key_revoke(actor=alice, key=acme_key)
    assert scanner.post(URL, {"values": [value]}).status_code == 202
    assert not AuditEvent.objects.filter(action="key.leak_reported").exists()
    assert mail.outbox == [] or all("exposed" not in m.subject for m in mail.outbox)
