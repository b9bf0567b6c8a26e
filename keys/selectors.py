"""Reads of API keys that the key pages, the REST API and the services share."""

from __future__ import annotations

import datetime
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone

from keys.models import ApiKey
from plans.calls import SampleCall, sample_call_among, stage_url
from plans.models import Subscription
from portal.customers.models import Customer


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
