"""Personal access tokens: the settings page, and bearer authentication to the API."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta

import pytest
from django.utils import timezone

from portal.accounts.models import User
from portal.tokens.models import PersonalAccessToken
from portal.tokens.services import token_create
from tests.api.conftest import ApiClient, api_as
from tests.conftest import login

TOKEN_RE = re.compile(r"tg_[a-z0-9]{8}_[A-Za-z0-9_-]{20,}")


def test_the_page_explains_what_a_token_is_not(alice: User) -> None:
    response = login(alice).get("/settings/tokens/")

    assert response.status_code == 200
    assert (
        "Personal access tokens authenticate you to Tollgate's own REST API. They are not the "
        "API Gateway keys your applications send in <code>x-api-key</code>."
    ) in response.content.decode()


def test_it_shows_a_new_token_once_and_stores_only_its_hash(alice: User) -> None:
    client = login(alice)
    response = client.post(
        "/settings/tokens/", {"name": "laptop", "scope": "write", "expires_in": "30"}
    )

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    plaintext = TOKEN_RE.search(response.content.decode())
    assert plaintext is not None
    token = PersonalAccessToken.objects.get(user=alice, name="laptop")
    assert token.token_sha256 == hashlib.sha256(plaintext.group().encode()).hexdigest()
    assert plaintext.group().startswith(f"tg_{token.prefix}_")
    assert token.expires_at is not None
    assert timedelta(days=29) < token.expires_at - timezone.now() <= timedelta(days=30)

    again = client.get("/settings/tokens/").content.decode()
    assert plaintext.group() not in again
    assert f"tg_{token.prefix}_…" in again


def test_the_page_refuses_an_empty_name(alice: User) -> None:
    response = login(alice).post("/settings/tokens/", {"name": " ", "scope": "read"})

    assert "This field is required." in response.content.decode()
    assert not PersonalAccessToken.objects.exists()


def test_it_revokes_from_the_page(alice: User, bob: User) -> None:
    issued = token_create(user=alice, name="ci", scope="read", expires_at=None)
    assert login(bob).post(f"/settings/tokens/{issued.token.pk}/revoke/").status_code == 404

    login(alice).post(f"/settings/tokens/{issued.token.pk}/revoke/")

    issued.token.refresh_from_db()
    assert issued.token.revoked_at is not None
    assert ApiClient(issued.plaintext).get("/api/v1/me").status_code == 401


def test_a_bearer_token_authenticates_and_notes_its_use(alice: User) -> None:
    issued = token_create(user=alice, name="ci", scope="read", expires_at=None)

    response = ApiClient(issued.plaintext).get("/api/v1/me")

    assert response.status_code == 200
    assert response.json()["email"] == "alice@acme.test"
    issued.token.refresh_from_db()
    first_use = issued.token.last_used_at
    assert first_use is not None

    ApiClient(issued.plaintext).get("/api/v1/me")
    issued.token.refresh_from_db()
    assert issued.token.last_used_at == first_use  # at most one write a minute

    PersonalAccessToken.objects.filter(pk=issued.token.pk).update(
        last_used_at=first_use - timedelta(minutes=2)
    )
    ApiClient(issued.plaintext).get("/api/v1/me")
    issued.token.refresh_from_db()
    assert issued.token.last_used_at > first_use - timedelta(minutes=2)


def test_a_read_token_cannot_write(alice: User) -> None:
    response = api_as(alice, "read").post("/api/v1/keys", {"name": "x"})

    assert response.status_code == 403
    assert response.json()["detail"] == (
        "This token is read-only; create a write token to change anything."
    )


@pytest.mark.parametrize("state", ["expired", "revoked", "wrong secret", "not a token"])
def test_it_refuses_a_token_that_does_not_work(alice: User, state: str) -> None:
    issued = token_create(
        user=alice, name="ci", scope="write", expires_at=timezone.now() + timedelta(days=1)
    )
    plaintext = issued.plaintext
    if state == "expired":
        PersonalAccessToken.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    elif state == "revoked":
        PersonalAccessToken.objects.update(revoked_at=timezone.now())
    elif state == "wrong secret":
        plaintext = plaintext[:-4] + "AAAA"
    else:
        plaintext = "hello"

    response = ApiClient(plaintext).get("/api/v1/me")

    assert response.status_code == 401
    assert response.json() == {
        "type": "authentication_failed",
        "title": "Not authenticated",
        "detail": "This token is unknown, revoked or expired; create another at /settings/tokens/.",
        "errors": {},
    }


@pytest.mark.parametrize(
    ("days", "message"),
    [(-1, "The expiry must be in the future."), (400, "A token may live at most one year.")],
)
def test_it_refuses_a_bad_expiry(alice: User, days: int, message: str) -> None:
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as caught:
        token_create(
            user=alice, name="x", scope="read", expires_at=timezone.now() + timedelta(days=days)
        )
    assert caught.value.message_dict == {"expires_at": [message]}


def test_the_browser_session_works_too(alice: User) -> None:
    response = login(alice).get("/api/v1/me")

    assert response.json()["authenticated_by"] == "session"
