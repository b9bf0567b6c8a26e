"""Writes to API keys: issue, rename, enable/disable, revoke, reveal the secret once."""

from __future__ import annotations

import hmac
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from keys.models import ApiKey
from portal.audit.services import audit
from portal.aws import apigateway as aws
from portal.customers.models import Customer
from portal.sync import (
    PermanentSyncError,
    TransientSyncError,
    bump_desired_version,
    bump_desired_versions,
    enqueue_on_commit,
)

MAX_LIVE_KEYS_PER_CUSTOMER = 50


def _schedule_key_sync(key_id: int) -> None:
    from keys.tasks import sync_key

    enqueue_on_commit(sync_key, key_id)


def _clean_name(customer: Customer, name: str, *, exclude_pk: int | None = None) -> str:
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": ["Give the key a name, such as “production” or “CI”."]})
    if len(name) > 64:
        raise ValidationError({"name": ["Keep the name to 64 characters or fewer."]})
    clash = ApiKey.objects.live().filter(customer=customer, name__iexact=name)
    if exclude_pk is not None:
        clash = clash.exclude(pk=exclude_pk)
    if clash.exists():
        raise ValidationError({"name": [f"You already have a key named “{name}”."]})
    return name


@transaction.atomic
def key_create(*, actor: Any, customer: Customer, name: str, ip: str | None = None) -> ApiKey:
    """A new key; API Gateway generates its secret inside the sync task (see README)."""
    Customer.objects.select_for_update().filter(pk=customer.pk).first()
    name = _clean_name(customer, name)
    if ApiKey.objects.live().filter(customer=customer).count() >= MAX_LIVE_KEYS_PER_CUSTOMER:
        raise ValidationError(
            f"You have {MAX_LIVE_KEYS_PER_CUSTOMER} keys already; revoke one you no longer use."
        )
    key = ApiKey.objects.create(customer=customer, name=name, created_by=actor)
    audit(actor=actor, action="key.created", target=key, after={"name": name}, ip=ip)
    _schedule_key_sync(key.pk)
    return key


def _locked(key: ApiKey) -> ApiKey:
    locked = ApiKey.objects.select_for_update().get(pk=key.pk)
    if locked.is_revoked:
        raise ValidationError("This key has been revoked; it can no longer be changed.")
    return locked


@transaction.atomic
def key_rename(*, actor: Any, key: ApiKey, name: str, ip: str | None = None) -> ApiKey:
    key = _locked(key)
    name = _clean_name(key.customer, name, exclude_pk=key.pk)
    if name == key.name:
        return key
    before = key.name
    key.name = name
    key.save(update_fields=["name"])
    bump_desired_version(key)
    audit(
        actor=actor,
        action="key.renamed",
        target=key,
        before={"name": before},
        after={"name": name},
        ip=ip,
    )
    _schedule_key_sync(key.pk)
    return key


@transaction.atomic
def key_set_enabled(*, actor: Any, key: ApiKey, enabled: bool, ip: str | None = None) -> ApiKey:
    key = _locked(key)
    if key.enabled == enabled:
        return key
    key.enabled = enabled
    key.save(update_fields=["enabled"])
    bump_desired_version(key)
    audit(
        actor=actor,
        action="key.enabled" if enabled else "key.disabled",
        target=key,
        after={"enabled": enabled},
        ip=ip,
    )
    _schedule_key_sync(key.pk)
    return key


@transaction.atomic
def key_revoke(*, actor: Any, key: ApiKey, ip: str | None = None) -> ApiKey:
    """Revoke for good: the key is deleted from API Gateway and stops working there."""
    key = _locked(key)
    key.revoked_at = timezone.now()
    key.save(update_fields=["revoked_at"])
    bump_desired_version(key)
    audit(actor=actor, action="key.revoked", target=key, ip=ip)
    _schedule_key_sync(key.pk)
    return key


def key_retry_sync(*, actor: Any, key: ApiKey, ip: str | None = None) -> None:
    with transaction.atomic():
        bump_desired_version(key)
        audit(actor=actor, action="key.sync_retried", target=key, ip=ip)
        _schedule_key_sync(key.pk)


def keys_resync_for_customer(customer: Customer) -> int:
    """After a tier switch every live key must move to the new usage plan."""
    key_ids = list(ApiKey.objects.live().filter(customer=customer).values_list("pk", flat=True))
    bump_desired_versions(ApiKey.objects.filter(pk__in=key_ids))
    for key_id in key_ids:
        _schedule_key_sync(key_id)
    return len(key_ids)


class SecretUnavailable(Exception):
    """The secret cannot be shown (already shown, not ready, someone else's, or too late)."""


def secret_reveal_deadline(key: ApiKey) -> Any:
    hours = settings.TOLLGATE["SECRET_REVEAL_WINDOW_HOURS"]
    return key.created_at + timedelta(hours=hours)


def key_can_reveal(key: ApiKey, user: Any) -> bool:
    return (
        key.secret_revealed_at is None
        and not key.is_revoked
        and bool(key.aws_id and key.secret_sha256)
        and key.created_by_id == getattr(user, "pk", None)
        and timezone.now() <= secret_reveal_deadline(key)
    )


def key_reveal_secret(*, actor: Any, key: ApiKey, ip: str | None = None) -> str:
    """Return the secret exactly once, to the person who created the key.

    The claim is a conditional UPDATE, so two tabs racing for it cannot both win. The value is
    read from API Gateway (GetApiKey includeValue) and checked against the SHA-256 we kept.
    """
    if not key_can_reveal(key, actor):
        raise SecretUnavailable("This key's secret has already been shown, or is not yours to see.")
    claimed = ApiKey.objects.filter(
        pk=key.pk, secret_revealed_at__isnull=True, revoked_at__isnull=True
    ).update(secret_revealed_at=timezone.now())
    if not claimed:
        raise SecretUnavailable("This key's secret has already been shown.")
    audit(actor=actor, action="key.secret_revealed", target=key, ip=ip)
    try:
        secret = aws.get_api_key_secret(key.aws_id)
    except (TransientSyncError, PermanentSyncError) as exc:
        # Not shown after all: give the claim back so the owner can try again.
        ApiKey.objects.filter(pk=key.pk).update(secret_revealed_at=None)
        raise SecretUnavailable(f"API Gateway did not return the key just now: {exc}") from exc
    digest, _ = aws.secret_fingerprint(secret)
    if not hmac.compare_digest(digest, key.secret_sha256):
        raise SecretUnavailable(
            "The key in API Gateway no longer matches the one we issued; revoke it and create another."
        )
    return secret
