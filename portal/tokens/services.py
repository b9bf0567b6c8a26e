"""Personal access tokens: create (shown once), revoke, and find the one a request presents.

Every token expires, at most a year after it is created (README: "at most a year"); this service
refuses anything else, whoever calls it: the settings page, the REST API, a script. A person
revokes their own tokens; admins revoke anyone's (portal.access.may_change_anything).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import string
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from portal.access import is_admin, may_change_anything
from portal.audit.services import audit
from portal.errors import NotAllowed
from portal.tokens.models import PersonalAccessToken, TokenScope

TOKEN_PREFIX = "tg"
PREFIX_ALPHABET = string.ascii_lowercase + string.digits
MAX_LIFETIME = timedelta(days=366)  # "at most a year", with a day's slack for time zones
EXPIRY_REQUIRED = "Choose when the token expires: at most one year from now."
EXPIRY_PAST = "The expiry must be in the future."
EXPIRY_TOO_LATE = "A token may live at most one year; choose an expiry within a year from now."
LAST_USED_EVERY = timedelta(minutes=1)  # one write a minute at most, however busy the token
MAX_TOKENS_PER_USER = 50
LEAKS_ADMINS_ONLY = "Only Tollgate admins can create a token that reports leaked keys."


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class IssuedToken:
    token: PersonalAccessToken
    plaintext: str  # shown once; never stored


@transaction.atomic
def token_create(
    *,
    user: Any,
    name: str,
    scope: str,
    expires_at: datetime | None,
    ip: str | None = None,
) -> IssuedToken:
    """A new token, shown once. `expires_at` is required: no token lives longer than a year."""
    name = (name or "").strip()
    errors: dict[str, list[str]] = {}
    if not name:
        errors["name"] = ["Give the token a name, such as “CI” or “laptop”."]
    elif len(name) > 64:
        errors["name"] = ["Keep the name to 64 characters or fewer."]
    if scope not in TokenScope.values:
        errors["scope"] = ["Choose read or write."]
    elif scope == TokenScope.LEAKS and not is_admin(user):
        errors["scope"] = [LEAKS_ADMINS_ONLY]
    now = timezone.now()
    if expires_at is None:
        errors["expires_at"] = [EXPIRY_REQUIRED]
    elif expires_at <= now:
        errors["expires_at"] = [EXPIRY_PAST]
    elif expires_at > now + MAX_LIFETIME:
        errors["expires_at"] = [EXPIRY_TOO_LATE]
    live = PersonalAccessToken.objects.filter(user=user, revoked_at__isnull=True)
    if live.count() >= MAX_TOKENS_PER_USER:
        errors["name"] = [f"You have {MAX_TOKENS_PER_USER} tokens already; revoke one first."]
    if errors:
        raise ValidationError(errors)
    while True:
        prefix = "".join(secrets.choice(PREFIX_ALPHABET) for _ in range(8))
        if not PersonalAccessToken.objects.filter(prefix=prefix).exists():
            break
    plaintext = f"{TOKEN_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
    token = PersonalAccessToken.objects.create(
        user=user,
        name=name,
        scope=scope,
        prefix=prefix,
        token_sha256=_digest(plaintext),
        expires_at=expires_at,
    )
    audit(
        actor=user,
        action="token.created",
        target=token,
        after={"name": name, "scope": scope, "prefix": prefix},
        ip=ip,
    )
    return IssuedToken(token=token, plaintext=plaintext)


@transaction.atomic
def token_revoke(*, user: Any, token: PersonalAccessToken, ip: str | None = None) -> None:
    """`user` revokes `token`: their own, or (admins only) anyone's. Revoking twice is a no-op."""
    if token.user_id != getattr(user, "pk", None) and not may_change_anything(user):
        raise NotAllowed("Only Tollgate admins can revoke another person's token.")
    updated = PersonalAccessToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    if updated:
        audit(actor=user, action="token.revoked", target=token, ip=ip)


def token_authenticate(raw: str) -> PersonalAccessToken | None:
    """The live token `raw` names, or None; notes its use at most once a minute."""
    kind, _, rest = raw.partition("_")
    prefix, _, secret = rest.partition("_")
    if kind != TOKEN_PREFIX or len(prefix) != 8 or not secret:
        return None
    token = PersonalAccessToken.objects.select_related("user").filter(prefix=prefix).first()
    if token is None or not hmac.compare_digest(token.token_sha256, _digest(raw)):
        return None
    if not token.is_active or not token.user.is_active:
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_EVERY:
        PersonalAccessToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token
