"""Someone who must use MFA cannot remove their last factor (an authenticator app or a security
key): allauth's pages refuse with the reason, so nobody ends up sent to set MFA up again from the
page where they removed it. Anyone else may remove theirs."""

from __future__ import annotations

from typing import Any

import pytest
from allauth.mfa.models import Authenticator

from portal.accounts.models import StaffRole, User
from portal.audit.models import AuditEvent
from portal.customers.models import Customer
from tests.conftest import login, make_user
from tests.fixtures.mfa import add_recovery_codes, add_totp

pytestmark = pytest.mark.django_db

KEEP = "Two-factor authentication is required for your account"


def security_key(user: User) -> Authenticator:
    return Authenticator.objects.create(
        user=user, type=Authenticator.Type.WEBAUTHN, data={"name": "YubiKey", "credential": {}}
    )


def test_staff_cannot_deactivate_their_only_authenticator_app(admin: User) -> None:
    client = login(admin)
    page = client.get("/accounts/2fa/totp/deactivate/")
    assert page.status_code == 200
    assert KEEP in page.content.decode()
    response = client.post("/accounts/2fa/totp/deactivate/")
    assert response.status_code == 200
    assert KEEP in response.content.decode()
    assert Authenticator.objects.filter(user=admin, type="totp").exists()
    assert client.get("/console/").status_code == 200  # never sent round in a loop


def test_staff_with_a_security_key_too_may_deactivate_the_app(ops: User) -> None:
    security_key(ops)
    response = login(ops).post("/accounts/2fa/totp/deactivate/")
    assert response.status_code == 302
    assert not Authenticator.objects.filter(user=ops, type="totp").exists()
    event = AuditEvent.objects.get(action="account.mfa_removed")
    assert (event.actor_id, event.after) == (ops.pk, {"type": "totp"})


def test_a_customer_may_deactivate_theirs(alice: User) -> None:
    add_totp(alice)
    codes = add_recovery_codes(alice)
    assert login(alice).post("/accounts/2fa/totp/deactivate/").status_code == 302
    assert not Authenticator.objects.filter(user=alice).exists()  # the codes went with it
    removed = AuditEvent.objects.filter(action="account.mfa_removed")
    assert sorted((e.after or {})["type"] for e in removed) == ["recovery_codes", "totp"]
    assert not any(code in str(e.after) for e in removed for code in codes)


def test_the_last_security_key_of_someone_who_needs_one_stays(alice: User, acme: Customer) -> None:
    Customer.objects.filter(pk=acme.pk).update(require_mfa=True)
    key = security_key(alice)
    client = login(alice)
    url = f"/accounts/2fa/webauthn/keys/{key.pk}/remove/"
    assert KEEP in client.get(url).content.decode()
    response = client.post(url)
    assert response["Location"] == "/accounts/2fa/webauthn/"
    assert Authenticator.objects.filter(pk=key.pk).exists()
    assert KEEP in client.get("/accounts/2fa/webauthn/").content.decode()


def test_a_second_security_key_may_go(alice: User, acme: Customer) -> None:
    Customer.objects.filter(pk=acme.pk).update(require_mfa=True)
    security_key(alice)
    spare = security_key(alice)
    response = login(alice).post(f"/accounts/2fa/webauthn/keys/{spare.pk}/remove/")
    assert response.status_code == 302
    assert not Authenticator.objects.filter(pk=spare.pk).exists()


def test_staff_without_a_factor_are_not_refused_anything_at_the_2fa_pages(db: Any) -> None:
    person = make_user("fresh@tollgate.test", StaffRole.OPS, mfa=False)
    assert login(person).get("/accounts/2fa/").status_code == 200
