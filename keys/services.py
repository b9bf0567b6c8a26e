"""Writes to API keys: issue, rename, enable/disable, revoke, reveal the secret once."""

from __future__ import annotations

import datetime
import hmac
import uuid
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from allauth.account.models import EmailAddress
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from keys.capacity import refuse_new_key_past_cap
from keys.expiry import clean_expires_at
from keys.models import ApiKey, DisableReason
from keys.places import place_of_first_copy
from keys.selectors import SecretState, reveal_window_hours, secret_state
from plans.models import Plan, Subscription
from portal.access import is_staff, require_key_manager
from portal.audit.services import audit
from portal.aws import apigateway as aws
from portal.aws.location import at
from portal.customers.models import Customer
from portal.errors import (
    NoLongerAvailable,
    NotAllowed,
    NotReady,
    PermanentSyncError,
    Refused,
    TransientSyncError,
)
from portal.sync import (
    bump_desired_version,
    bump_desired_versions,
    schedule_sync,
    schedule_syncs,
    settle_as_is,
)

MAX_LIVE_KEYS_PER_CUSTOMER = 50
MAX_NAME_LENGTH = 64
EMAIL_NOT_CONFIRMED = (
    "Confirm your email address first: follow the link in the email we sent you (sign in "
    "again to have it sent once more), then create the key."
)


def _require_confirmed_email(actor: Any) -> None:
    """A customer creates keys only once their primary address is verified (allauth). Staff and
    system calls (`actor=None`: imports, adoption, the demo) are not asked."""
    if actor is None or is_staff(actor):
        return
    if not EmailAddress.objects.filter(user=actor, primary=True, verified=True).exists():
        raise ValidationError(EMAIL_NOT_CONFIRMED)


def _clean_name(customer: Customer, name: str, *, exclude_pk: int | None = None) -> str:
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": ["Give the key a name, such as “production” or “CI”."]})
    if len(name) > MAX_NAME_LENGTH:
        raise ValidationError({"name": ["Keep the name to 64 characters or fewer."]})
    clash = ApiKey.objects.live().filter(customer=customer, name__iexact=name)
    if exclude_pk is not None:
        clash = clash.exclude(pk=exclude_pk)
    if clash.exists():
        raise ValidationError({"name": [f"You already have a key named “{name}”."]})
    return name


@transaction.atomic
def key_create(
    *,
    actor: Any,
    customer: Customer,
    name: str,
    ip: str | None = None,
    expires_at: datetime.datetime | None = None,
) -> ApiKey:
    """A new key; the worker generates its secret inside the sync task (see README).
    `expires_at`: optional, checked by keys.expiry (in the future, within the maximum)."""
    _require_confirmed_email(actor)
    Customer.objects.select_for_update().filter(pk=customer.pk).first()
    name = _clean_name(customer, name)
    if expires_at is not None:
        expires_at = clean_expires_at(expires_at)
    if ApiKey.objects.live().filter(customer=customer).count() >= MAX_LIVE_KEYS_PER_CUSTOMER:
        raise ValidationError(
            f"You have {MAX_LIVE_KEYS_PER_CUSTOMER} keys already; revoke one you no longer use."
        )
    refuse_new_key_past_cap(customer)
    key = ApiKey.objects.create(
        customer=customer, name=name, created_by=actor, expires_at=expires_at
    )
    after = {"name": name, **({"expires_at": expires_at.isoformat()} if expires_at else {})}
    audit(actor=actor, action="key.created", target=key, after=after, ip=ip)
    schedule_sync(key)
    return key


def _locked(key: ApiKey) -> ApiKey:
    locked = ApiKey.objects.select_for_update().get(pk=key.pk)
    if locked.is_revoked:
        raise ValidationError("This key has been revoked; it can no longer be changed.")
    return locked


@transaction.atomic
def key_rename(*, actor: Any, key: ApiKey, name: str, ip: str | None = None) -> ApiKey:
    require_key_manager(actor, key)
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
    schedule_sync(key)
    return key


@transaction.atomic
def key_set_enabled(
    *,
    actor: Any,
    key: ApiKey,
    enabled: bool,
    ip: str | None = None,
    already_in_aws: bool = False,
    reason: str = DisableReason.PERSON,
    action: str = "",
) -> ApiKey:
    """Pause or resume a key. `already_in_aws`: AWS has it so already (a drift accepted).
    `reason` (DisableReason) is recorded on a disabled key; `action` names the audit event
    when it is not the usual key.enabled / key.disabled (keys.idle: key.idle_disabled)."""
    require_key_manager(actor, key)
    key = _locked(key)
    if key.enabled == enabled:
        return key
    key.enabled = enabled
    key.disabled_reason = "" if enabled else reason
    key.save(update_fields=["enabled", "disabled_reason"])
    bump_desired_version(key)
    extra = {"reason": reason} if not enabled and reason != DisableReason.PERSON else {}
    audit(
        actor=actor,
        action=action or ("key.enabled" if enabled else "key.disabled"),
        target=key,
        after={
            "enabled": enabled,
            **extra,
            **({"accepted_from_aws": True} if already_in_aws else {}),
        },
        ip=ip,
    )
    schedule_sync(key, already_in_aws=already_in_aws)
    return key


@transaction.atomic
def key_revoke(
    *, actor: Any, key: ApiKey, ip: str | None = None, already_in_aws: bool = False
) -> ApiKey:
    """Revoke for good: the key is deleted from API Gateway and stops working there.
    `already_in_aws`: it was deleted there already (a drift accepted)."""
    require_key_manager(actor, key)
    key = _locked(key)
    key.revoked_at = timezone.now()
    key.save(update_fields=["revoked_at"])
    bump_desired_version(key)
    audit(
        actor=actor,
        action="key.revoked",
        target=key,
        after={"accepted_from_aws": True} if already_in_aws else None,
        ip=ip,
    )
    schedule_sync(key, already_in_aws=already_in_aws)
    return key


def key_retry_sync(*, actor: Any, key: ApiKey, ip: str | None = None) -> None:
    require_key_manager(actor, key)
    with transaction.atomic():
        bump_desired_version(key)
        audit(actor=actor, action="key.sync_retried", target=key, ip=ip)
        schedule_sync(key)


@dataclass(frozen=True)
class KeyInAws:
    """A key that already exists in API Gateway and becomes a customer's key in Tollgate."""

    customer_id: int
    name: str
    aws_id: str
    secret_sha256: str
    display_prefix: str
    enabled: bool
    aws_name: str = ""  # kept when it is not Tollgate's own `tollgate-<uuid>`
    public_id: uuid.UUID | None = None  # fixed in advance by a bulk import


def unique_key_name(taken: set[str], wanted: str) -> str:
    """`wanted`, or "wanted (2)", "wanted (3)", … until no live key of the customer has it;
    `taken` holds the customer's names in lower case and learns the one returned."""
    wanted = (wanted or "imported key").strip()
    base, n, name = wanted[: MAX_NAME_LENGTH - 5], 1, wanted[:MAX_NAME_LENGTH]
    while name.lower() in taken:
        n += 1
        name = f"{base} ({n})"
    taken.add(name.lower())
    return name


def keys_take_over(
    *, actor: Any, found: list[KeyInAws], origin: str, ip: str | None = None
) -> list[ApiKey]:
    """Record keys that already exist in API Gateway (an adopted usage plan, a CSV import).

    Tollgate never had their secrets, so none can be revealed (their users have them); they
    are recorded *synced* with the values AWS holds, in one INSERT. Names clashing with a live
    key of the same customer get a number. One audit event for the batch.
    """
    if not found:
        return []
    now = timezone.now()
    taken: dict[int, set[str]] = defaultdict(set)
    customer_ids = {k.customer_id for k in found}
    for customer_id, name in (
        ApiKey.objects.live()
        .filter(customer_id__in=customer_ids)
        .values_list("customer_id", "name")
    ):
        taken[customer_id].add(name.lower())
    keys = [
        ApiKey(
            public_id=k.public_id or uuid.uuid4(),
            customer_id=k.customer_id,
            name=unique_key_name(taken[k.customer_id], k.name),
            created_by=actor if getattr(actor, "pk", None) else None,
            aws_id=k.aws_id,
            imported_aws_name=k.aws_name,
            secret_sha256=k.secret_sha256,
            display_prefix=k.display_prefix,
            secret_revealed_at=now,  # its users have it; Tollgate never shows it
            enabled=k.enabled,
        )
        for k in found
    ]
    created = ApiKey.objects.bulk_create(keys, batch_size=500)
    settle_as_is(ApiKey.objects.filter(public_id__in=[k.public_id for k in keys]))
    audit(
        actor=actor,
        action="keys.taken_over",
        target=None,
        about=f"{len(keys)} keys from {origin}",
        after={"origin": origin, "keys": len(keys), "customers": sorted(customer_ids)},
        ip=ip,
    )
    return created


def keys_resync_for_customer(customer: Customer) -> int:
    """After a tier switch every live key must move to the new usage plan."""
    key_ids = list(ApiKey.objects.live().filter(customer=customer).values_list("pk", flat=True))
    bump_desired_versions(ApiKey.objects.filter(pk__in=key_ids))
    schedule_syncs(ApiKey, key_ids)
    return len(key_ids)


def keys_resync_for_tier(plan: Plan) -> int:
    """The tier's usage plans moved to other accounts or regions: its customers' live keys
    follow (a copy made where the tier now is, removed where it no longer is). Not a person's
    change, so no audit event: the tier's own change was audited."""
    key_ids = list(
        ApiKey.objects.live()
        .filter(customer__subscriptions__in=Subscription.objects.active().filter(plan=plan))
        .values_list("pk", flat=True)
    )
    bump_desired_versions(ApiKey.objects.filter(pk__in=key_ids))
    schedule_syncs(ApiKey, key_ids)
    return len(key_ids)


class SecretUnavailable(Refused):
    """The secret cannot be shown; `state` says why (keys.selectors.SecretState) and `status`
    answers it: 403 someone else's key, 409 not issued by API Gateway yet (try again), 410 never
    again (shown, too late, revoked)."""

    def __init__(self, message: str, state: SecretState) -> None:
        super().__init__(message)
        self.state = state
        self.status, self.code = _SECRET_REFUSALS[state]

    @classmethod
    def because(cls, state: SecretState) -> SecretUnavailable:
        messages = {
            SecretState.NOT_YOURS: "Only the person who created this key may see its secret.",
            SecretState.REVOKED: "This key has been revoked.",
            SecretState.SHOWN: "This key's secret has already been shown; it is shown only "
            "once. Create a new key and revoke this one if the secret was lost.",
            SecretState.EXPIRED: f"The secret could be shown only within {reveal_window_hours()} "
            "hours of creating the key. Create a new key and revoke this one.",
            SecretState.PENDING: "API Gateway has not issued this key yet; try again in a moment.",
        }
        return cls(messages[state], state)


_SECRET_REFUSALS: dict[str, tuple[int, str]] = {
    SecretState.NOT_YOURS: (NotAllowed.status, NotAllowed.code),
    SecretState.PENDING: (NotReady.status, NotReady.code),
    SecretState.REVOKED: (NoLongerAvailable.status, NoLongerAvailable.code),
    SecretState.SHOWN: (NoLongerAvailable.status, NoLongerAvailable.code),
    SecretState.EXPIRED: (NoLongerAvailable.status, NoLongerAvailable.code),
}


def key_reveal_secret(*, actor: Any, key: ApiKey, ip: str | None = None) -> str:
    """Return the secret exactly once, to the person who created the key.

    The claim is a conditional UPDATE, so two tabs racing for it cannot both win. The value is
    read from API Gateway (GetApiKey includeValue) and checked against the SHA-256 we kept.
    """
    state = secret_state(key, actor)
    if state != SecretState.READY:
        raise SecretUnavailable.because(state)
    claimed = ApiKey.objects.filter(
        pk=key.pk, secret_revealed_at__isnull=True, revoked_at__isnull=True
    ).update(secret_revealed_at=timezone.now())
    if not claimed:  # another tab won the race
        raise SecretUnavailable.because(SecretState.SHOWN)
    audit(actor=actor, action="key.secret_revealed", target=key, ip=ip)
    try:
        with at(place_of_first_copy(key)):
            secret = aws.get_api_key_secret(key.aws_id)
    except (TransientSyncError, PermanentSyncError) as exc:
        # Not shown after all: give the claim back so the owner can try again.
        ApiKey.objects.filter(pk=key.pk).update(secret_revealed_at=None)
        raise SecretUnavailable(
            f"API Gateway did not return the key just now: {exc}", SecretState.PENDING
        ) from exc
    digest, _ = aws.secret_fingerprint(secret)
    if not hmac.compare_digest(digest, key.secret_sha256):
        raise SecretUnavailable(
            "The key in API Gateway no longer matches the one we issued; revoke it and create another.",
            SecretState.SHOWN,  # the claim stands: it can never be shown
        )
    return secret
