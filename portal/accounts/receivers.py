"""Sign-ins, failed sign-ins, password and MFA changes, recorded in the audit trail.

Connected in AccountsConfig.ready() to allauth's signals and Django's `user_login_failed`.
Each records the person (for a failed sign-in: the address typed, never the password — Django
passes the credentials with the password already masked, and only the email is read from
them), what happened and the client's address. Never a password, a token or a code.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from portal.accounts.models import User
from portal.audit.services import audit
from portal.http import client_ip

TRIED_MAX = 254  # an email address at most; anything longer is not one


def _ip(request: HttpRequest | None) -> str | None:
    return client_ip(request) if request is not None else None


def _record(action: str, request: HttpRequest | None, user: Any, **after: Any) -> None:
    audit(actor=user, action=action, target=user, after=after or None, ip=_ip(request))


def signed_in(sender: Any, request: HttpRequest, user: Any, **kwargs: Any) -> None:
    _record("account.signed_in", request, user)


def sign_in_failed(
    sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None, **kwargs: Any
) -> None:
    """Nobody signed in: the target is the person whose address was typed, if there is one."""
    tried = str(credentials.get("email") or credentials.get("username") or "").strip()
    tried = tried[:TRIED_MAX]
    person = User.objects.filter(email__iexact=tried).first() if tried else None
    audit(
        actor=None,
        action="account.sign_in_failed",
        target=person,
        about=tried or "(no email given)",
        after={"email": tried},
        ip=_ip(request),
    )


def password_changed(sender: Any, request: HttpRequest, user: Any, **kwargs: Any) -> None:
    _record("account.password_changed", request, user)


def password_set(sender: Any, request: HttpRequest, user: Any, **kwargs: Any) -> None:
    _record("account.password_set", request, user)


def password_reset(sender: Any, request: HttpRequest, user: Any, **kwargs: Any) -> None:
    _record("account.password_reset", request, user)


def _authenticator_type(authenticator: Any) -> str:
    """TOTP, recovery codes, WebAuthn…: the kind, never its secret or codes."""
    return str(getattr(authenticator, "type", "") or "")


def mfa_added(
    sender: Any, request: HttpRequest, user: Any, authenticator: Any, **kwargs: Any
) -> None:
    _record("account.mfa_added", request, user, type=_authenticator_type(authenticator))


def mfa_removed(
    sender: Any, request: HttpRequest, user: Any, authenticator: Any, **kwargs: Any
) -> None:
    _record("account.mfa_removed", request, user, type=_authenticator_type(authenticator))


def mfa_reset(
    sender: Any, request: HttpRequest, user: Any, authenticator: Any, **kwargs: Any
) -> None:
    _record("account.mfa_reset", request, user, type=_authenticator_type(authenticator))


def mfa_failed(
    sender: Any, request: HttpRequest, user: Any, authenticator: Any, **kwargs: Any
) -> None:
    """A wrong code at the second step of a sign-in (or when confirming access): the person is
    known, but signed in is nobody yet; never the code typed."""
    audit(
        actor=None,
        action="account.mfa_failed",
        target=user,
        about=str(getattr(user, "email", "") or ""),
        after={
            "type": _authenticator_type(authenticator),
            "reauthentication": bool(kwargs.get("reauthentication", False)),
        },
        ip=_ip(request),
    )
