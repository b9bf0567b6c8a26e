"""Reads of API keys that the key pages, the REST API and the services share."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.paginator import Page, Paginator
from django.db import models
from django.db.models import Count, F, Q
from django.utils import timezone

from keys.models import ApiKey
from plans.calls import SampleCall, sample_call_among, stage_url
from plans.models import Subscription
from portal.customers.models import Customer
from portal.sync import SyncStatus


@dataclass(frozen=True)
class KeyFigures:
    """What a customer list says of one customer's live keys."""

    live: int = 0
    failed: int = 0
    pending: int = 0


def key_figures_for(customer_ids: list[int]) -> dict[int, KeyFigures]:
    """The live, failed and pending keys of these customers (a page of a list), in one query
    over their keys only: the cost of a page, whoever else has keys."""
    live = Q(revoked_at__isnull=True)
    rows = (
        ApiKey.objects.filter(live, customer_id__in=customer_ids)
        .values("customer_id")
        .annotate(
            live=Count("pk"),
            failed=Count("pk", filter=Q(sync_status=SyncStatus.FAILED)),
            pending=Count("pk", filter=Q(sync_status=SyncStatus.PENDING)),
        )
        .order_by()
    )
    return {
        row["customer_id"]: KeyFigures(row["live"], row["failed"], row["pending"]) for row in rows
    }


KEYS_PER_PAGE = 50


def key_page(
    keys: models.QuerySet[ApiKey], number: str | None, *, per_page: int = KEYS_PER_PAGE
) -> Page[ApiKey]:
    """One page of one customer's keys: live ones first, newest first, then the revoked ones,
    the last revoked first. A customer has tens or hundreds of keys, not millions, so a
    numbered page (an offset) stays cheap; a page number that is not one shows the first or
    the last page."""
    ordered = keys.order_by(F("revoked_at").desc(nulls_first=True), "-created_at", "-pk")
    return Paginator(ordered, per_page).get_page(number)


def invoke_urls_for(customer: Customer) -> list[str]:
    """The invoke URL of each stage the customer's tier covers (the REST API's reveal answer)."""
    subscription = (
        Subscription.objects.active().filter(customer=customer).select_related("plan").first()
    )
    if subscription is None:
        return []
    return [stage_url(stage) for stage in subscription.plan.stages.all()]


def sample_call_for(customer: Customer) -> SampleCall | None:
    """The call the key page's `curl` line makes: a key-protected operation of a stage the
    customer's tier covers (plans.calls), or a stage root when none is known; None off-tier."""
    subscription = (
        Subscription.objects.active().filter(customer=customer).select_related("plan").first()
    )
    if subscription is None:
        return None
    return sample_call_among(list(subscription.plan.stages.all()))


# --- the one-time secret ------------------------------------------------------------------------


class SecretState(models.TextChoices):
    """Whether a person may see a key's secret now — the one rule for the key page, the REST API
    and keys.services.key_reveal_secret. Checked in this order: someone else's key tells nothing
    more (not even whether it was shown)."""

    NOT_YOURS = "not_yours", "Only the key's creator may see it"
    REVOKED = "revoked", "The key was revoked"
    SHOWN = "shown", "Shown already; never again"
    EXPIRED = "expired", "The reveal window passed"
    PENDING = "pending", "API Gateway has not issued it yet"
    READY = "ready", "The creator may reveal it, once"


def reveal_window_hours() -> int:
    return int(settings.TOLLGATE["SECRET_REVEAL_WINDOW_HOURS"])


def secret_reveal_deadline(key: ApiKey) -> datetime.datetime:
    return key.created_at + timedelta(hours=reveal_window_hours())


def secret_state(key: ApiKey, user: Any, *, now: datetime.datetime | None = None) -> SecretState:
    """Where `user` stands with `key`'s secret. Only READY may be revealed."""
    if key.created_by_id is None or key.created_by_id != getattr(user, "pk", None):
        return SecretState.NOT_YOURS  # imported keys have no creator: nobody sees theirs
    if key.is_revoked:
        return SecretState.REVOKED
    if key.secret_revealed_at is not None:
        return SecretState.SHOWN
    if (now or timezone.now()) > secret_reveal_deadline(key):
        return SecretState.EXPIRED
    if not (key.aws_id and key.secret_sha256):
        return SecretState.PENDING
    return SecretState.READY
