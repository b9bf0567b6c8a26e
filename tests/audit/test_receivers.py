"""Sign-ins, failed sign-ins, password and MFA changes land in the audit trail, with the person
(or the address typed), the action and the client's address — never a password or a code."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import pytest
from allauth.account import signals as account
from django.test import Client
from django.urls import reverse

from portal.accounts import receivers
from portal.accounts.models import User
from portal.audit.models import AuditEvent
from tests.conftest import PASSWORD

CLIENT = "203.0.113.7"


@pytest.fixture(autouse=True)
def one_proxy(settings: Any) -> None:
    settings.ACCOUNT_EMAIL_VERIFICATION = "none"
    settings.TOLLGATE = {**settings.TOLLGATE, "TRUSTED_PROXY_COUNT": 1}


def sign_in(email: str, password: str) -> Any:
    return Client(REMOTE_ADDR="10.0.0.5", HTTP_X_FORWARDED_FOR=f"6.6.6.6, {CLIENT}").post(
        reverse("account_login"), {"login": email, "password": password}
    )


def stored(event: AuditEvent) -> str:
    """Everything the row holds, as text: what a leak would show up in."""
    return json.dumps(
        {f.attname: str(getattr(event, f.attname)) for f in AuditEvent._meta.concrete_fields}
    )


def test_a_sign_in_is_recorded_with_the_client_address(alice: User) -> None:
    response = sign_in("alice@acme.test", PASSWORD)
    assert response.status_code == 302
    event = AuditEvent.objects.get(action="account.signed_in")
    assert (event.actor_id, event.actor_email, event.ip) == (alice.pk, alice.email, CLIENT)
    assert (event.target_type, event.target_id) == ("accounts.user", str(alice.pk))
    assert PASSWORD not in stored(event)


def test_a_failed_sign_in_records_the_address_typed_never_the_password(alice: User) -> None:
    response = sign_in("Alice@Acme.test", "wrong-password-123")
    assert response.status_code == 200  # the form again
    event = AuditEvent.objects.get(action="account.sign_in_failed")
    assert event.actor_id is None and event.actor_email == ""
    assert event.after == {"email": "alice@acme.test"}  # as allauth passed it on
    assert (event.target_type, event.target_id) == ("accounts.user", str(alice.pk))
    assert event.ip == CLIENT
    assert "wrong-password-123" not in stored(event)
    assert not AuditEvent.objects.filter(action="account.signed_in").exists()


def test_a_failed_sign_in_as_nobody_is_recorded_too(db: None) -> None:
    sign_in("nobody@nowhere.test", "guess-guess-guess")
    event = AuditEvent.objects.get(action="account.sign_in_failed")
    assert (event.target_type, event.target_repr) == ("", "nobody@nowhere.test")
    assert "guess-guess-guess" not in stored(event)


@pytest.mark.parametrize(
    ("signal", "action"),
    [
        (account.password_changed, "account.password_changed"),
        (account.password_set, "account.password_set"),
        (account.password_reset, "account.password_reset"),
    ],
)
def test_password_changes_are_recorded(alice: User, rf: Any, signal: Any, action: str) -> None:
    request = rf.post("/", REMOTE_ADDR="10.0.0.5", HTTP_X_FORWARDED_FOR=CLIENT)
    signal.send(sender=User, request=request, user=alice)
    event = AuditEvent.objects.get(action=action)
    assert (event.actor_id, event.ip, event.after) == (alice.pk, CLIENT, None)


def test_a_password_change_through_the_page_is_recorded(alice: User) -> None:
    client = Client(REMOTE_ADDR="10.0.0.5", HTTP_X_FORWARDED_FOR=CLIENT)
    client.force_login(alice)
    new = "another-horse-staple-9"
    response = client.post(
        reverse("account_change_password"),
        {"oldpassword": PASSWORD, "password1": new, "password2": new},
    )
    assert response.status_code == 302
    event = AuditEvent.objects.get(action="account.password_changed")
    assert event.actor_id == alice.pk
    assert PASSWORD not in stored(event) and new not in stored(event)


@pytest.mark.parametrize(
    ("receiver", "action"),
    [
        (receivers.mfa_added, "account.mfa_added"),
        (receivers.mfa_removed, "account.mfa_removed"),
        (receivers.mfa_reset, "account.mfa_reset"),
    ],
)
def test_mfa_changes_record_the_kind_never_the_secret(
    alice: User, rf: Any, receiver: Any, action: str
) -> None:
    """allauth.mfa is not installed today (AccountsConfig.ready connects these once it is):
    the receivers are called as its signals would call them."""
    authenticator = SimpleNamespace(type="totp", data={"secret": "JBSWY3DPEHPK3PXP"})
    request = rf.post("/", REMOTE_ADDR="10.0.0.5", HTTP_X_FORWARDED_FOR=CLIENT)
    receiver(sender=None, request=request, user=alice, authenticator=authenticator)
    event = AuditEvent.objects.get(action=action)
    assert (event.actor_id, event.after, event.ip) == (alice.pk, {"type": "totp"}, CLIENT)
    assert "JBSWY3DPEHPK3PXP" not in stored(event)
