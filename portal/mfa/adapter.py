"""allauth.mfa's adapter (settings.MFA_ADAPTER): a required last factor cannot be removed."""

from __future__ import annotations

from typing import Any

from allauth.mfa.adapter import DefaultMFAAdapter
from allauth.mfa.models import Authenticator

from portal.access import mfa_required_reason

KEEP_A_FACTOR = (
    "Two-factor authentication is required for your account, so this is the one factor you "
    "cannot remove: add another (an authenticator app or a security key) first."
)
FACTORS = (Authenticator.Type.TOTP, Authenticator.Type.WEBAUTHN)


def is_required_last_factor(authenticator: Authenticator) -> bool:
    """Removing it would leave someone who must use MFA without any factor (recovery codes
    back a factor up; they are not one)."""
    if authenticator.type not in FACTORS:
        return False
    user = authenticator.user
    if mfa_required_reason(user) is None:
        return False
    others = Authenticator.objects.filter(user_id=user.pk, type__in=FACTORS)
    return not others.exclude(pk=authenticator.pk).exists()


class TollgateMFAAdapter(DefaultMFAAdapter):
    error_messages: dict[str, Any] = {
        **DefaultMFAAdapter.error_messages,
        "cannot_delete_authenticator": KEEP_A_FACTOR,
    }

    def can_delete_authenticator(self, authenticator: Authenticator) -> bool:
        return not is_required_last_factor(authenticator)
