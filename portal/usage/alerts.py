"""Quota alerts: an email to a customer's owners when a key crosses 80% and 100% of its quota,
once a period, from the roll-ups (portal.usage.rollups) in a constant number of queries."""

from __future__ import annotations

import datetime
from collections import defaultdict
from dataclasses import dataclass

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from keys.models import ApiKey
from plans.models import active_subscription_through
from portal.customers.models import Membership, MembershipRole
from portal.sync import object_lock
from portal.usage.models import (
    PeriodUsage,
    QuotaAlert,
)
from portal.usage.periods import resets_at
from portal.wording import percent_reached, share_in_words

ALERT_THRESHOLDS = (80, 100)


@dataclass(frozen=True)
class _Crossing:
    key_id: int
    period: str  # DAY / WEEK / MONTH
    period_start: datetime.date
    used: int
    quota: int
    thresholds: tuple[int, ...]  # crossed and not yet recorded, lowest first


def _crossings(today: datetime.date) -> list[_Crossing]:
    """Keys whose use this period, on their customer's current tier, passed a threshold that
    has no alert yet.

    One query on the roll-up (PeriodUsage), reading only the rows at 80% or more of their quota
    this period and leaving out those already alerted in SQL: a run that sends nothing reads
    no row, whatever the number of customers.
    """
    lowest, highest = min(ALERT_THRESHOLDS), max(ALERT_THRESHOLDS)

    def alerted(threshold: int) -> Exists:
        return Exists(
            QuotaAlert.objects.filter(
                key=OuterRef("key"), period_start=OuterRef("period_start"), threshold=threshold
            )
        )

    found = (
        PeriodUsage.objects.current(today)
        .filter(
            # One filter() call: the subscription that is active is the one on this plan.
            active_subscription_through("key__customer__subscriptions"),
            key__customer__subscriptions__plan=F("plan"),
            share__gte=lowest / 100,
        )
        .annotate(low_sent=alerted(lowest), high_sent=alerted(highest))
        .filter(Q(low_sent=False) | Q(high_sent=False, share__gte=highest / 100))
        .values_list("key_id", "period", "period_start", "used", "quota", "low_sent", "high_sent")
    )
    crossings = []
    for key_id, period, period_start, used, quota, low_sent, high_sent in found:
        sent = {lowest: low_sent, highest: high_sent}
        new = tuple(
            t for t in ALERT_THRESHOLDS if percent_reached(used, quota) >= t and not sent[t]
        )
        if new:
            crossings.append(_Crossing(key_id, period, period_start, used, quota, new))
    return crossings


def send_quota_alerts(*, today: datetime.date | None = None) -> int:
    """Email each customer's owners when a key crosses 80% and 100% of its quota, once a period.

    The email states the figures this run found ("850 of 1,000 requests (85%)", the moment
    Tollgate saw the crossing) and links to the usage page (TOLLGATE["SITE_URL"]). A key found
    past both at once gets one email, the 100% one (the 80% alert is recorded with it, so it
    never arrives late). Query count does not grow with customers or alerts: the crossings,
    the alerts already sent, the keys and the owners are each read in one query, the new
    alerts written in one INSERT. One run at a time (a shared lock), so none is sent twice.
    """
    now = timezone.now()
    today = today or now.date()
    with object_lock("quota-alerts", ttl_seconds=600) as acquired:
        if not acquired:
            return 0
        crossings = _crossings(today)
        if not crossings:
            return 0
        keys = ApiKey.objects.select_related("customer").in_bulk([c.key_id for c in crossings])
        owners: dict[int, list[str]] = defaultdict(list)
        for customer_id, email in Membership.objects.filter(
            customer_id__in={key.customer_id for key in keys.values()},
            role=MembershipRole.OWNER,
        ).values_list("customer_id", "user__email"):
            owners[customer_id].append(email)
        alerts = [
            QuotaAlert(
                key_id=c.key_id,
                period_start=c.period_start,
                threshold=threshold,
                used=c.used,
                quota=c.quota,
            )
            for c in crossings
            for threshold in c.thresholds
        ]
        site = str(settings.TOLLGATE.get("SITE_URL") or "").rstrip("/")
        usage_url = f"{site}{reverse('app:usage')}" if site else ""
        emails = [
            EmailMessage(
                subject=f"Tollgate: key “{key.name}” has used {threshold}% of its quota",
                body=render_to_string(
                    "usage/quota_alert.txt",
                    {
                        "key": key,
                        "customer": key.customer,
                        "alert": {
                            "threshold": threshold,
                            "figures": share_in_words(c.used, c.quota),
                            "seen_at": now,
                            "resets_at": resets_at(c.period, c.period_start),
                        },
                        "usage_url": usage_url,
                    },
                ),
                from_email=settings.DEFAULT_FROM_EMAIL,
                to=owners[key.customer_id],
            )
            for c in crossings
            if owners[(key := keys[c.key_id]).customer_id]
            for threshold in c.thresholds[-1:]  # the highest one crossed
        ]
        with transaction.atomic():
            QuotaAlert.objects.bulk_create(alerts, batch_size=1000)
            transaction.on_commit(lambda: get_connection().send_messages(emails))
        return len(crossings)
