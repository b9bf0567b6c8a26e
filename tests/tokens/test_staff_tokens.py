"""Every person's tokens for staff: the console page (/console/tokens/) and `GET /api/v1/tokens`,
`POST /api/v1/tokens/{id}/revoke`; and that no token is offered "never"."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from portal.accounts.models import User
from portal.audit.models import AuditEvent
from portal.tokens.models import PersonalAccessToken
from portal.tokens.services import token_create
from portal.tokens.views import CONSOLE_PAGE_SIZE
from tests.conftest import login
from tests.fixtures.api import ApiClient, api_as


def _token(user: User, name: str = "laptop") -> PersonalAccessToken:
    return token_create(
        user=user, name=name, scope="read", expires_at=timezone.now() + timedelta(days=30)
    ).token


def test_the_settings_page_offers_no_never_and_refuses_it(alice: User) -> None:
    client = login(alice)
    page = client.get("/settings/tokens/").content.decode()
    assert ">never</option>" not in page
    assert '<option value="365"' in page

    response = client.post("/settings/tokens/", {"name": "ci", "scope": "read", "expires_in": ""})

    assert "Choose when the token expires: at most one year from now." in response.content.decode()
    assert not PersonalAccessToken.objects.exists()


def test_staff_see_every_persons_tokens_and_only_admins_may_revoke(
    alice: User, bob: User, ops: User, admin: User
) -> None:
    _token(alice)
    _token(bob, "ci")

    for person in (ops, admin):
        page = login(person).get("/console/tokens/").content.decode()
        assert "alice@acme.test" in page and "bob@globex.test" in page
        assert "tg_" in page
    assert "/revoke/" not in login(ops).get("/console/tokens/").content.decode()
    assert "/revoke/" in login(admin).get("/console/tokens/").content.decode()
    assert login(alice).get("/console/tokens/").status_code == 403


def test_an_admin_revokes_from_the_console(alice: User, ops: User, admin: User) -> None:
    token = _token(alice)

    assert login(ops).post(f"/console/tokens/{token.pk}/revoke/").status_code == 403
    token.refresh_from_db()
    assert token.revoked_at is None

    response = login(admin).post(f"/console/tokens/{token.pk}/revoke/")

    assert response.status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert AuditEvent.objects.get(action="token.revoked").actor == admin


def test_the_console_list_is_paged(alice: User, bob: User, admin: User) -> None:
    for n in range(CONSOLE_PAGE_SIZE + 1):  # 50 live tokens a person at most: two people's
        _token(alice if n % 2 else bob, f"t{n:02d}")

    first = login(admin).get("/console/tokens/").content.decode()
    second = login(admin).get("/console/tokens/?page=2").content.decode()

    assert "Page 1 of 2" in first and "Page 2 of 2" in second
    assert "<strong>t00</strong>" in second and "<strong>t00</strong>" not in first


def test_the_api_lists_a_persons_own_tokens_and_staff_everyones(
    alice: User, bob: User, ops: User
) -> None:
    laptop = _token(alice)

    mine = api_as(alice).get("/api/v1/tokens").json()["results"]
    assert "laptop" in {row["name"] for row in mine}
    assert {row["owner"] for row in mine} == {"alice@acme.test"}
    row = next(row for row in mine if row["id"] == laptop.pk)
    assert row["prefix"] == laptop.prefix and row["scope"] == "read"
    assert set(row) >= {"created_at", "last_used_at", "expires_at", "revoked_at"}
    assert "token_sha256" not in row

    assert "laptop" not in {
        row["name"] for row in api_as(bob).get("/api/v1/tokens").json()["results"]
    }
    staff = api_as(ops).get("/api/v1/tokens").json()["results"]
    assert {"alice@acme.test", "bob@globex.test"} <= {row["owner"] for row in staff}


def test_the_api_revokes_for_admins_and_owners_only(
    alice: User, bob: User, ops: User, admin: User
) -> None:
    token = _token(alice)
    issued = token_create(
        user=alice, name="ci", scope="read", expires_at=timezone.now() + timedelta(days=30)
    )

    assert api_as(bob).post(f"/api/v1/tokens/{token.pk}/revoke").status_code == 404
    assert api_as(ops).post(f"/api/v1/tokens/{token.pk}/revoke").status_code == 403
    token.refresh_from_db()
    assert token.revoked_at is None

    response = api_as(admin).post(f"/api/v1/tokens/{issued.token.pk}/revoke")

    assert response.status_code == 200
    assert response.json()["state"] == "revoked"
    assert ApiClient(issued.plaintext).get("/api/v1/me").status_code == 401
    event = AuditEvent.objects.get(action="token.revoked")
    assert (event.actor, event.target_id) == (admin, str(issued.token.pk))

    assert api_as(alice).post(f"/api/v1/tokens/{token.pk}/revoke").status_code == 200
