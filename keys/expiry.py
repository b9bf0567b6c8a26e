"""Key expiry: set or clear it (the key pages, the REST API, `manage.py key_expiry`), and the
beat job (`keys.tasks.expire_keys`) that, as the clock passes each key's expiry:

- has API Gateway disable it at once: its desired version is bumped and its sync sent, and
  keys.sync.api_key_spec sends `enabled=False` for a key whose expiry passed (audited
  ``key.expired``, once);
- revokes it after the retention the admin sets (TOLLGATE_EXPIRED_KEY_RETENTION_DAYS, 30 by
  default) with ``revoked_reason=expired``, so the sync deletes it from API Gateway;
- emails the organisation's owners 7 days and 1 day before, each once (the key's
  ``expiry_warned_*`` fields, cleared whenever the expiry changes).

Every function takes `now`, so the tests run the job on a faked clock.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage, get_connection
from django.db import transaction
from django.db.models import F
from django.db.models.functions import Coalesce
from django.template.loader import render_to_string
from django.utils import dateparse, timezone

from keys.models import ApiKey, RevokeReason
from portal.access import require_key_manager
from portal.audit.services import audit
from portal.customers.models import Membership, MembershipRole
from portal.sync import (
    bump_desired_version,
    bump_desired_versions,
    object_lock,
    schedule_sync,
    schedule_syncs,
)

MAX_EXPIRY_DAYS = 3 * 365  # an expiry further away than three years is a typo
WARN_DAYS = (7, 1)
FORMAT_HELP = "Write it as a date and time in UTC, e.g. 2027-01-31T00:00Z, or a date, 2027-01-31."


def retention_days() -> int:
    """How long an expired key stays (disabled) before it is revoked and deleted from AWS."""
    return int(settings.TOLLGATE["EXPIRED_KEY_RETENTION_DAYS"])


def _refuse(message: str) -> ValidationError:
    return ValidationError({"expires_at": [message]})


def parse_expiry(text: str) -> datetime.datetime:
    """A page's or a command's text: an ISO 8601 date and time (without an offset: UTC), or a
    date (midnight UTC at its start)."""
    text = (text or "").strip()
    try:
        moment = dateparse.parse_datetime(text)
        day = None if moment is not None else dateparse.parse_date(text)
    except ValueError:  # well-formed but impossible, such as 2027-02-30
        raise _refuse(f"“{text[:40]}” is not a real date. {FORMAT_HELP}") from None
    if moment is None and day is None:
        raise _refuse(f"“{text[:40]}” is not a date and time. {FORMAT_HELP}")
    if moment is None:
        assert day is not None
        moment = datetime.datetime.combine(day, datetime.time.min)
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment, datetime.UTC)
    return moment


def clean_expires_at(
    value: datetime.datetime, *, now: datetime.datetime | None = None
) -> datetime.datetime:
    """In the future, and at most MAX_EXPIRY_DAYS away; a time without an offset is UTC."""
    now = now or timezone.now()
    if timezone.is_naive(value):
        value = timezone.make_aware(value, datetime.UTC)
    if value <= now:
        raise _refuse("Choose a time in the future: the key would expire at once.")
    latest = now + datetime.timedelta(days=MAX_EXPIRY_DAYS)
    if value > latest:
        raise _refuse(
            f"An expiry can be at most {MAX_EXPIRY_DAYS // 365} years away "
            f"(before {latest:%Y-%m-%d}); leave it empty for a key that does not expire."
        )
    return value.replace(microsecond=0)


def _iso(moment: datetime.datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


@transaction.atomic
def key_set_expiry(
    *,
    actor: Any,
    key: ApiKey,
    expires_at: datetime.datetime | None,
    ip: str | None = None,
    now: datetime.datetime | None = None,
) -> ApiKey:
    """Set the key's expiry (None clears it). The same people as every key write may (an owner,
    or the member who created it). A new expiry re-arms the 7-day and 1-day warnings; a key
    whose expiry passed but that is not revoked yet works again once its expiry moves on."""
    require_key_manager(actor, key)
    key = ApiKey.objects.select_for_update().get(pk=key.pk)
    if key.is_revoked:
        raise ValidationError("This key has been revoked; it can no longer be changed.")
    cleaned = clean_expires_at(expires_at, now=now) if expires_at is not None else None
    if cleaned == key.expires_at:
        return key
    before = key.expires_at
    key.expires_at = cleaned
    key.expiry_warned_7d_at = key.expiry_warned_1d_at = None
    key.save(update_fields=["expires_at", "expiry_warned_7d_at", "expiry_warned_1d_at"])
    bump_desired_version(key)
    audit(
        actor=actor,
        action="key.expiry_set" if cleaned is not None else "key.expiry_cleared",
        target=key,
        before={"expires_at": _iso(before)},
        after={"expires_at": _iso(cleaned)},
        ip=ip,
    )
    schedule_sync(key)
    return key


# --- the beat job ---------------------------------------------------------------------------


@dataclass
class ExpiryRun:
    expired: int = 0  # disabled in API Gateway now
    deleted: int = 0  # revoked after the retention
    warned: int = 0  # keys whose owners were told
    emails: int = 0


def process_expiries(*, now: datetime.datetime | None = None) -> ExpiryRun:
    """One run of the beat job (one at a time: a shared lock)."""
    now = now or timezone.now()
    run = ExpiryRun()
    with object_lock("key-expiry", ttl_seconds=600) as acquired:
        if not acquired:
            return run
        run.expired = disable_expired(now=now)
        run.deleted = delete_expired(now=now)
        run.warned, run.emails = warn_owners(now=now)
    return run


def _bump_and_send(ids: list[int], now: datetime.datetime) -> None:
    rows = ApiKey.objects.filter(pk__in=ids)
    bump_desired_versions(rows)
    # The sync request is what marks an expiry as handled (below); a clock ahead of the real
    # one (the tests') records it at the job's time.
    rows.filter(sync_requested_at__lt=now).update(sync_requested_at=now)
    schedule_syncs(ApiKey, ids)


@transaction.atomic
def disable_expired(*, now: datetime.datetime) -> int:
    """Keys whose expiry passed and whose sync was last asked for before it: API Gateway still
    has them enabled. Their sync sends enabled=False (keys.sync); ``key.expired`` once each."""
    keys = list(
        ApiKey.objects.live()
        .select_for_update()
        .filter(expires_at__lte=now, sync_requested_at__lt=F("expires_at"))
    )
    for key in keys:
        audit(
            actor=None, action="key.expired", target=key, after={"expires_at": _iso(key.expires_at)}
        )
    if keys:
        _bump_and_send([key.pk for key in keys], now)
    return len(keys)


@transaction.atomic
def delete_expired(*, now: datetime.datetime) -> int:
    """Keys expired for longer than the retention: revoked (reason: expired), so their sync
    deletes them from API Gateway."""
    cutoff = now - datetime.timedelta(days=retention_days())
    keys = list(ApiKey.objects.live().select_for_update().filter(expires_at__lte=cutoff))
    if not keys:
        return 0
    ids = [key.pk for key in keys]
    ApiKey.objects.filter(pk__in=ids).update(revoked_at=now, revoked_reason=RevokeReason.EXPIRED)
    for key in keys:
        audit(
            actor=None,
            action="key.revoked",
            target=key,
            after={
                "reason": RevokeReason.EXPIRED.value,
                "expires_at": _iso(key.expires_at),
                "retention_days": retention_days(),
            },
        )
    _bump_and_send(ids, now)
    return len(keys)


def _owners(customer_ids: set[int]) -> dict[int, list[str]]:
    owners: dict[int, list[str]] = defaultdict(list)
    for customer_id, email in Membership.objects.filter(
        customer_id__in=customer_ids, role=MembershipRole.OWNER
    ).values_list("customer_id", "user__email"):
        owners[customer_id].append(email)
    return owners


def _left(expires_at: datetime.datetime, now: datetime.datetime) -> str:
    hours = max(1, round((expires_at - now).total_seconds() / 3600))
    if hours < 36:
        return f"{hours} hour{'s' if hours != 1 else ''}"
    days = round(hours / 24)
    return f"{days} days"


@transaction.atomic
def warn_owners(*, now: datetime.datetime) -> tuple[int, int]:
    """Tell the owners about each live key expiring within 7 days (and again within 1 day),
    each once: one email per organisation per run, listing its keys. A key whose expiry is set
    less than a day ahead gets the 1-day email only."""
    soon = ApiKey.objects.live().select_for_update().select_related("customer")
    soon = soon.filter(expires_at__gt=now, expires_at__lte=now + datetime.timedelta(days=7))
    one_day = now + datetime.timedelta(days=1)
    due_1d, due_7d = [], []
    for key in soon.filter(expiry_warned_1d_at__isnull=True).order_by("expires_at"):
        assert key.expires_at is not None
        if key.expires_at <= one_day:
            due_1d.append(key)
        elif key.expiry_warned_7d_at is None:
            due_7d.append(key)
    if not (due_1d or due_7d):
        return 0, 0
    ApiKey.objects.filter(pk__in=[k.pk for k in due_1d]).update(
        expiry_warned_1d_at=now, expiry_warned_7d_at=Coalesce("expiry_warned_7d_at", now)
    )
    ApiKey.objects.filter(pk__in=[k.pk for k in due_7d]).update(expiry_warned_7d_at=now)
    by_customer: dict[int, list[ApiKey]] = defaultdict(list)
    for key in sorted(due_1d + due_7d, key=lambda k: (k.customer_id, k.expires_at)):
        by_customer[key.customer_id].append(key)
    owners = _owners(set(by_customer))
    emails = []
    for customer_id, keys in by_customer.items():
        if not owners[customer_id]:
            continue
        customer = keys[0].customer
        rows = [{"key": key, "left": _left(key.expires_at, now)} for key in keys]  # type: ignore[arg-type]
        subject = (
            f"Tollgate: API key “{keys[0].name}” of {customer.name} expires in {rows[0]['left']}"
            if len(keys) == 1
            else f"Tollgate: {len(keys)} API keys of {customer.name} expire soon"
        )
        body = render_to_string(
            "keys/expiry_warning.txt",
            {
                "customer": customer,
                "rows": rows,
                "retention_days": retention_days(),
                "site_url": settings.TOLLGATE.get("SITE_URL", "").rstrip("/"),
            },
        )
        emails.append(
            EmailMessage(
                subject=subject,
                body=body,
                from_email=settings.DEFAULT_FROM_EMAIL,
                to=owners[customer_id],
            )
        )
    transaction.on_commit(lambda: get_connection().send_messages(emails))
    return len(due_1d) + len(due_7d), len(emails)
