"""Personal access tokens: the settings page (portal.tokens.views)."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta

from django.utils import timezone

from portal.accounts.models import User
from portal.tokens.models import PersonalAccessToken
from portal.tokens.services import token_create
from tests.conftest import login
from tests.fixtures.api import ApiClient

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
    issued = token_create(
        user=alice, name="ci", scope="read", expires_at=timezone.now() + timedelta(days=30)
    )
    assert login(bob).post(f"/settings/tokens/{issued.token.pk}/revoke/").status_code == 404

    login(alice).post(f"/settings/tokens/{issued.token.pk}/revoke/")

    issued.token.refresh_from_db()
    assert issued.token.revoked_at is not None
    assert ApiClient(issued.plaintext).get("/api/v1/me").status_code == 401
