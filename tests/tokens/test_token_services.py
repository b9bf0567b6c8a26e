"""Personal access tokens: what token_create refuses and who may revoke (portal.tokens.services)."""

from __future__ import annotations

import importlib
from datetime import datetime, timedelta

import pytest
from django.apps import apps as global_apps
from django.core.exceptions import ValidationError
from django.utils import timezone

from portal.accounts.models import User
from portal.audit.models import AuditEvent
from portal.errors import NotAllowed
from portal.tokens.models import PersonalAccessToken
from portal.tokens.services import token_create, token_revoke


@pytest.mark.parametrize(
    ("expires_at", "message"),
    [
        (timedelta(days=-1), "The expiry must be in the future."),
        (
            timedelta(days=400),
            "A token may live at most one year; choose an expiry within a year from now.",
        ),
        (None, "Choose when the token expires: at most one year from now."),
    ],
    ids=["past", "over a year", "never"],
)
def test_it_refuses_a_bad_expiry(alice: User, expires_at: timedelta | None, message: str) -> None:
    when: datetime | None = None if expires_at is None else timezone.now() + expires_at
    with pytest.raises(ValidationError) as caught:
        token_create(user=alice, name="x", scope="read", expires_at=when)

    assert caught.value.message_dict == {"expires_at": [message]}
    assert not PersonalAccessToken.objects.exists()
    assert not AuditEvent.objects.filter(action="token.created").exists()


def test_a_year_is_the_longest_lifetime(alice: User) -> None:
    issued = token_create(
        user=alice, name="ci", scope="read", expires_at=timezone.now() + timedelta(days=365)
    )
    assert issued.token.expires_at is not None


def _token(user: User) -> PersonalAccessToken:
    return token_create(
        user=user, name="ci", scope="read", expires_at=timezone.now() + timedelta(days=30)
    ).token


def test_an_admin_revokes_anyones_token_and_it_is_audited(alice: User, admin: User) -> None:
    token = _token(alice)

    token_revoke(user=admin, token=token)

    token.refresh_from_db()
    assert token.revoked_at is not None
    event = AuditEvent.objects.get(action="token.revoked")
    assert (event.actor, event.target_id) == (admin, str(token.pk))


@pytest.mark.parametrize("who", ["ops", "bob"])
def test_nobody_else_revokes_another_persons_token(
    alice: User, request: pytest.FixtureRequest, who: str
) -> None:
    token = _token(alice)

    with pytest.raises(NotAllowed):
        token_revoke(user=request.getfixturevalue(who), token=token)

    token.refresh_from_db()
    assert token.revoked_at is None
    assert not AuditEvent.objects.filter(action="token.revoked").exists()


def test_the_migration_caps_never_expiring_tokens_at_a_year(alice: User) -> None:
    forever = _token(alice)
    dated = _token(alice)
    PersonalAccessToken.objects.filter(pk=forever.pk).update(expires_at=None)
    migration = importlib.import_module("portal.tokens.migrations.0002_cap_never_expiring_tokens")

    migration.cap_never_expiring(global_apps, None)

    forever.refresh_from_db()
    assert forever.expires_at is not None
    assert timedelta(days=364) < forever.expires_at - timezone.now() <= timedelta(days=365)
    assert PersonalAccessToken.objects.get(pk=dated.pk).expires_at == dated.expires_at
