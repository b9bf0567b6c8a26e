"""Through allauth's own pages with the test client: a staff member sets up an authenticator app
(password only so far), then signs in with a password and a code; wrong codes are refused and
recorded, a recovery code works once; no secret or code lands in the audit trail or the logs."""

from __future__ import annotations

import logging
import time
from typing import Any

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value
from django.test import Client

from portal.accounts.models import StaffRole, User
from portal.audit.models import AuditEvent
from tests.conftest import PASSWORD, make_user
from tests.fixtures.mfa import add_recovery_codes, totp_code, totp_secret

pytestmark = pytest.mark.django_db


def sign_in(client: Client, email: str) -> Any:
    return client.post("/accounts/login/", {"login": email, "password": PASSWORD})


def code_for(secret: str) -> str:
    return format_hotp_value(hotp_value(secret, int(time.time()) // 30))


def audit_text() -> str:
    return " ".join(
        str(row) for row in AuditEvent.objects.values_list("target_repr", "before", "after")
    )


def test_a_new_staff_member_sets_up_totp_then_reaches_the_console(
    db: None, caplog: pytest.LogCaptureFixture, django_capture_on_commit_callbacks: Any
) -> None:
    caplog.set_level(logging.DEBUG)
    make_user("new@tollgate.test", StaffRole.ADMIN, mfa=False)
    client = Client(REMOTE_ADDR="198.51.100.60")
    assert sign_in(client, "new@tollgate.test")["Location"] == "/"
    assert client.get("/console/")["Location"] == "/accounts/2fa/"

    # allauth asks for the password again before a factor is added.
    response = client.get("/accounts/2fa/totp/activate/")
    assert response["Location"].startswith("/accounts/reauthenticate/")
    confirm = client.post(response["Location"], {"password": PASSWORD})
    assert confirm["Location"] == "/accounts/2fa/totp/activate/"

    page = client.get("/accounts/2fa/totp/activate/")
    assert page.status_code == 200
    secret = client.session["mfa.totp.secret"]
    assert secret in page.content.decode()  # the setup key, for the app
    with django_capture_on_commit_callbacks(execute=True):  # allauth signals it on commit
        done = client.post("/accounts/2fa/totp/activate/", {"code": code_for(secret)})
    assert done["Location"] == "/accounts/2fa/recovery-codes/"
    codes_page = client.get(done["Location"]).content.decode()
    assert "Unused codes" in codes_page
    assert client.get("/console/").status_code == 200

    added = sorted(
        (e.after or {})["type"] for e in AuditEvent.objects.filter(action="account.mfa_added")
    )
    assert added == ["recovery_codes", "totp"]
    assert secret not in audit_text()
    assert not [r for r in caplog.records if secret in r.getMessage()]


def test_staff_sign_in_with_a_code(admin: User, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    client = Client(REMOTE_ADDR="198.51.100.61")
    step = sign_in(client, admin.email)
    assert step["Location"] == "/accounts/2fa/authenticate/"
    assert "_auth_user_id" not in client.session  # the password alone signs nobody in
    page = client.get(step["Location"])
    assert page.status_code == 200
    assert "Authenticator code" in page.content.decode()

    wrong = client.post("/accounts/2fa/authenticate/", {"code": "000000"})
    assert wrong.status_code == 200
    assert "Incorrect code" in wrong.content.decode()
    failed = AuditEvent.objects.get(action="account.mfa_failed")
    assert (failed.target_id, (failed.after or {})["type"]) == (str(admin.pk), "totp")

    code = totp_code(admin)
    right = client.post("/accounts/2fa/authenticate/", {"code": code})
    assert right["Location"] == "/"
    assert client.get("/")["Location"] == "/console/"
    assert client.get("/console/").status_code == 200
    records = client.session["account_authentication_methods"]
    assert [r["method"] for r in records] == ["password", "mfa"]
    assert code not in audit_text()
    assert totp_secret(admin) not in " ".join(r.getMessage() for r in caplog.records)


def test_a_recovery_code_signs_in_once(ops: User) -> None:
    codes = add_recovery_codes(ops)
    client = Client(REMOTE_ADDR="198.51.100.62")
    sign_in(client, ops.email)
    assert client.post("/accounts/2fa/authenticate/", {"code": codes[0]})["Location"] == "/"
    again = Client(REMOTE_ADDR="198.51.100.62")
    sign_in(again, ops.email)
    reused = again.post("/accounts/2fa/authenticate/", {"code": codes[0]})
    assert reused.status_code == 200
    assert not any(code in audit_text() for code in codes)
    left = Authenticator.objects.get(user=ops, type="recovery_codes").wrap().get_unused_codes()
    assert len(left) == len(codes) - 1
