"""Personal access tokens: bearer authentication to the API, and the browser session too."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from portal.accounts.models import User
from portal.tokens.models import PersonalAccessToken
from portal.tokens.services import token_create
from tests.conftest import login
from tests.fixtures.api import ApiClient, api_as


def test_a_bearer_token_authenticates_and_notes_its_use(alice: User) -> None:
    issued = token_create(
        user=alice, name="ci", scope="read", expires_at=timezone.now() + timedelta(days=30)
    )

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


def test_the_browser_session_works_too(alice: User) -> None:
    response = login(alice).get("/api/v1/me")

    assert response.json()["authenticated_by"] == "session"
