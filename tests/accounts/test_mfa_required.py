"""Who must use MFA (portal.access.mfa_setup_required) and what happens until they have it:
staff always, people of an organisation that requires it. Pages send them to /accounts/2fa/ with
the reason; the REST API answers 403 `mfa_required`, by session or token alike."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from allauth.mfa.models import Authenticator
from django.test import Client
from django.utils import timezone

from portal.access import mfa_setup_required
from portal.accounts.models import StaffRole, User
from portal.customers.models import Customer
from portal.tokens.services import token_create
from tests.conftest import login, make_user
from tests.fixtures.mfa import add_totp

pytestmark = pytest.mark.django_db


def bearer(user: User) -> Client:
    token = token_create(
        user=user, name="script", scope="write", expires_at=timezone.now() + timedelta(days=1)
    ).plaintext
    return Client(HTTP_AUTHORIZATION=f"Bearer {token}")


def problem(response: Any) -> dict[str, Any]:
    assert response["Content-Type"].startswith("application/json")
    return json.loads(response.content)


@pytest.fixture
def new_admin(db: None) -> User:
    return make_user("new-admin@tollgate.test", StaffRole.ADMIN, mfa=False)


@pytest.fixture
def new_ops(db: None) -> User:
    return make_user("new-ops@tollgate.test", StaffRole.OPS, mfa=False)


@pytest.mark.parametrize(
    "path", ["/console/", "/console/tiers/", "/app/", "/settings/tokens/", "/"]
)
def test_staff_without_mfa_are_sent_to_set_it_up(new_admin: User, path: str) -> None:
    client = login(new_admin)
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"] == "/accounts/2fa/"
    page = client.get(response["Location"])
    assert page.status_code == 200
    assert "Tollgate staff must use two-factor authentication" in page.content.decode()


def test_a_refused_write_changes_nothing(new_admin: User, tiers: Any) -> None:
    response = login(new_admin).post("/console/tiers/new/", {"name": "Gold"})
    assert response.status_code == 302
    assert response["Location"] == "/accounts/2fa/"
    assert not tiers["Free"].__class__.objects.filter(name="Gold").exists()


def test_htmx_requests_are_sent_to_the_whole_page(new_ops: User) -> None:
    response = login(new_ops).get("/console/", HTTP_HX_REQUEST="true")
    assert response["HX-Redirect"] == "/accounts/2fa/"


@pytest.mark.parametrize(
    "path",
    [
        "/accounts/2fa/",
        "/accounts/2fa/totp/activate/",
        "/accounts/2fa/webauthn/add/",
        "/accounts/password/change/",
        "/pricing/",
        "/apis/",
    ],
)
def test_what_stays_open_without_mfa(new_admin: User, stage: Any, path: str) -> None:
    assert login(new_admin).get(path).status_code == 200


def test_signing_out_stays_open(new_admin: User) -> None:
    client = login(new_admin)
    assert client.post("/accounts/logout/")["Location"] == "/accounts/login/"
    assert "_auth_user_id" not in client.session


@pytest.mark.parametrize("path", ["/api/v1/stages", "/api/v1/me", "/api/v1/tokens"])
def test_the_api_refuses_staff_without_mfa_with_a_session(new_ops: User, path: str) -> None:
    response = login(new_ops).get(path)
    assert response.status_code == 403
    body = problem(response)
    assert body["type"] == "mfa_required"
    assert "Tollgate staff must use two-factor authentication" in body["detail"]


def test_the_api_refuses_a_staff_token_while_they_have_no_mfa(new_admin: User) -> None:
    client = bearer(new_admin)  # made before the rule applied, or by a script
    response = client.post("/api/v1/stages/refresh")
    assert response.status_code == 403
    assert problem(response)["type"] == "mfa_required"
    add_totp(new_admin)
    assert client.get("/api/v1/stages").status_code == 200


def test_staff_with_mfa_go_anywhere(admin: User, ops: User) -> None:
    assert login(admin).get("/console/").status_code == 200
    assert login(ops).get("/console/metrics/").status_code == 200
    assert bearer(admin).get("/api/v1/stages").status_code == 200
    assert mfa_setup_required(admin) is None


def test_a_security_key_counts_recovery_codes_alone_do_not(new_admin: User) -> None:
    Authenticator.objects.create(user=new_admin, type="recovery_codes", data={"seed": "x"})
    assert mfa_setup_required(new_admin) is not None
    Authenticator.objects.create(user=new_admin, type="webauthn", data={"name": "key"})
    assert mfa_setup_required(new_admin) is None


def test_customers_need_no_mfa_unless_their_organisation_asks(alice: User, acme: Customer) -> None:
    assert login(alice).get("/app/").status_code == 200
    assert mfa_setup_required(alice) is None


def test_an_organisation_that_requires_mfa(
    alice: User, maria: User, bob: User, acme: Customer
) -> None:
    Customer.objects.filter(pk=acme.pk).update(require_mfa=True)
    for person in (alice, maria):  # its owner and its plain member alike
        client = login(person)
        response = client.get("/app/")
        assert response["Location"] == "/accounts/2fa/"
        page = client.get("/accounts/2fa/").content.decode()
        assert "Acme requires two-factor authentication" in page
        api = bearer(person).get("/api/v1/keys")
        assert api.status_code == 403
        assert "Acme requires two-factor authentication" in problem(api)["detail"]
        assert client.get("/pricing/").status_code == 200
    # Globex asks nothing of bob.
    assert login(bob).get("/app/").status_code == 200
    # With an authenticator app, alice is back in.
    add_totp(alice)
    assert login(alice).get("/app/").status_code == 200
    assert bearer(alice).get("/api/v1/keys").status_code == 200
