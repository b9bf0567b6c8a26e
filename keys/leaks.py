"""Leaked keys reported by a secret scanner: find them by SHA-256, disable or roll them, tell the
organisation's owners, and audit it (README: "Leaked keys").

The values a report brings are hashed and dropped here: none is stored, logged, queued or
returned, and the caller learns nothing of which (if any) matched. A value of Tollgate's own
format whose checksum does not add up is skipped without a lookup (a mistype, or made up); other
values are looked up too, since imported and adopted keys keep their own values.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string

from keys import rotation
from keys.models import ApiKey, DisableReason
from keys.services import key_set_enabled
from portal.audit.services import audit
from portal.aws import apigateway as aws
from portal.customers.models import Membership, MembershipRole
from portal.errors import Refused

logger = logging.getLogger(__name__)

MAX_VALUES = 100  # per report
MAX_VALUE_LENGTH = 128  # API Gateway's longest key
MIN_VALUE_LENGTH = 20  # ...and its shortest
DISABLE, ROLL = "disable", "roll"  # Customer.leaked_key_action
ALREADY = "none: disabled as leaked already"  # reported again: no change, no email


def digests_to_look_up(values: list[str]) -> set[str]:
    """The SHA-256 of each reported value that could be a key of ours (offline checks only)."""
    digests: set[str] = set()
    for value in values:
        if not MIN_VALUE_LENGTH <= len(value) <= MAX_VALUE_LENGTH:
            continue  # API Gateway holds no such key
        if aws.has_tollgate_shape(value) and not aws.looks_like_tollgate_key(value):
            continue  # our format with a wrong checksum: never one we issued
        digests.add(aws.secret_fingerprint(value)[0])
    return digests


def keys_report_leaked(*, reporter: Any, values: list[str], ip: str | None = None) -> int:
    """Act on every live key whose secret is among `values`; returns how many values came.

    Each key is handled in its own transaction: one that fails is logged (by its public id) and
    the others go on, so the answer never depends on what matched.
    """
    digests = digests_to_look_up(values)
    found = list(
        ApiKey.objects.live().filter(secret_sha256__in=digests).select_related("customer")
        if digests
        else ()
    )
    for key in found:
        try:
            _respond(reporter=reporter, key=key, ip=ip)
        except Exception:  # noqa: BLE001 - the other keys still get their response
            logger.exception("leak response failed for key %s", key.public_id)
    return len(values)


@transaction.atomic
def _respond(*, reporter: Any, key: ApiKey, ip: str | None) -> None:
    key = ApiKey.objects.select_for_update().select_related("customer").get(pk=key.pk)
    if key.is_revoked:
        return  # gone from API Gateway already (a rolled key's old secret, say)
    wanted = key.customer.leaked_key_action
    replacement: ApiKey | None = None
    if not key.enabled and key.disabled_reason == DisableReason.LEAKED:
        taken = ALREADY
    elif wanted == ROLL and key.enabled and (replacement := _roll(key)) is not None:
        # The old key is revoked at once (no grace) and deleted from API Gateway by its sync.
        taken = "rolled"
    else:
        taken = "disabled"
        key_set_enabled(actor=None, key=key, enabled=False, reason=DisableReason.LEAKED)
        # Disabled before (by a person, or as idle): it stays so, now because it leaked.
        ApiKey.objects.filter(pk=key.pk).update(disabled_reason=DisableReason.LEAKED)
    audit(
        actor=reporter,
        action="key.leak_reported",
        target=key,
        after={
            "action": taken,
            "setting": wanted,
            **({"replacement": str(replacement.public_id)} if replacement else {}),
        },
        ip=ip,
    )
    if taken != ALREADY:
        _mail_owners(key, replacement=replacement)


def _roll(key: ApiKey) -> ApiKey | None:
    """The replacement of `key`, rolled without grace; None when it cannot be rolled now (a
    rotation of it is under way): it is disabled instead. A key disabled already is not rolled
    (its replacement would work): it stays disabled, as leaked."""
    try:
        return rotation.key_rotate(actor=None, key=key, grace=timedelta(0))
    except Refused as exc:
        logger.warning("leaked key %s not rolled (%s); disabling it", key.public_id, exc)
        return None


def _mail_owners(key: ApiKey, *, replacement: ApiKey | None) -> None:
    recipients = list(
        Membership.objects.filter(
            customer_id=key.customer_id, role=MembershipRole.OWNER, user__is_active=True
        ).values_list("user__email", flat=True)
    )
    if not recipients:
        return
    subject = f"Tollgate: your API key “{key.name}” was found exposed and has been " + (
        "replaced" if replacement else "disabled"
    )
    context = {"key": key, "customer": key.customer, "replacement": replacement}
    body = render_to_string("keys/leak_reported.txt", context)
    transaction.on_commit(
        lambda: send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, recipients), robust=True
    )
