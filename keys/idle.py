"""Idle keys: no traffic for 90 days by the collected usage (`ApiKey.last_used_on`, kept up to
date by portal.usage) and at least 90 days old. They are flagged on the key pages and in the
API (`keys.models.is_idle`, the one rule); for organisations whose owners turned on
`Customer.disable_idle_keys`, the beat job `keys.tasks.disable_idle_keys` disables them through
`keys.services.key_set_enabled` (so API Gateway gets it; ``disabled_reason=idle``, audited
``key.idle_disabled``) and emails the owners once per run. A key a person enabled again in the
last 90 days is left alone: its idle period starts over then."""

from __future__ import annotations

import datetime
from collections import defaultdict

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db.models import CharField, Exists, OuterRef, Q, QuerySet
from django.db.models.functions import Cast
from django.template.loader import render_to_string
from django.utils import timezone

from keys.models import IDLE_AFTER_DAYS, ApiKey, DisableReason
from keys.services import key_set_enabled
from portal.audit.models import AuditEvent
from portal.customers.models import Membership, MembershipRole
from portal.sync import object_lock


def idle_keys(now: datetime.datetime) -> QuerySet[ApiKey]:
    """Live keys idle by the rule of keys.models.is_idle (the same test, in SQL)."""
    since = now - datetime.timedelta(days=IDLE_AFTER_DAYS)
    return (
        ApiKey.objects.live()
        .filter(created_at__lte=since)
        .filter(Q(last_used_on__isnull=True) | Q(last_used_on__lte=since.date()))
    )


def keys_to_disable(now: datetime.datetime) -> QuerySet[ApiKey]:
    """Idle, enabled, not expired, in an organisation that opted in, and not enabled again by a
    person within the idle period."""
    since = now - datetime.timedelta(days=IDLE_AFTER_DAYS)
    enabled_again = AuditEvent.objects.filter(
        action="key.enabled",
        target_type=ApiKey._meta.label_lower,
        target_id=Cast(OuterRef("pk"), CharField()),
        created_at__gt=since,
    )
    return (
        idle_keys(now)
        .filter(enabled=True, customer__disable_idle_keys=True)
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
        .exclude(Exists(enabled_again))
        .select_related("customer")
        .order_by("customer_id", "created_at")
    )


def disable_idle_keys(*, now: datetime.datetime | None = None) -> int:
    """One run of the beat job: the keys disabled, one email per organisation to its owners."""
    now = now or timezone.now()
    with object_lock("idle-keys", ttl_seconds=600) as acquired:
        if not acquired:
            return 0
        disabled: dict[int, list[ApiKey]] = defaultdict(list)
        for key in keys_to_disable(now):
            changed = key_set_enabled(
                actor=None,
                key=key,
                enabled=False,
                reason=DisableReason.IDLE,
                action="key.idle_disabled",
            )
            if not changed.enabled:
                disabled[key.customer_id].append(changed)
        if not disabled:
            return 0
        owners: dict[int, list[str]] = defaultdict(list)
        for customer_id, email in Membership.objects.filter(
            customer_id__in=set(disabled), role=MembershipRole.OWNER
        ).values_list("customer_id", "user__email"):
            owners[customer_id].append(email)
        emails = [
            EmailMessage(
                subject=f"Tollgate: {len(keys)} idle API key{'s' if len(keys) != 1 else ''} "
                f"of {keys[0].customer.name} disabled",
                body=render_to_string(
                    "keys/idle_disabled.txt",
                    {
                        "customer": keys[0].customer,
                        "keys": keys,
                        "idle_days": IDLE_AFTER_DAYS,
                        "site_url": settings.TOLLGATE.get("SITE_URL", "").rstrip("/"),
                    },
                ),
                from_email=settings.DEFAULT_FROM_EMAIL,
                to=owners[customer_id],
            )
            for customer_id, keys in disabled.items()
            if owners[customer_id]
        ]
        get_connection().send_messages(emails)
        return sum(len(keys) for keys in disabled.values())
