"""Reads of tiers, stages and subscriptions that pages, the REST API and the CLI share."""

from __future__ import annotations

from typing import Any

from django.core.cache import cache
from django.db import transaction
from django.db.models import Count, OuterRef, Q, QuerySet, Subquery

from plans.models import Plan, PlanQuerySet, Subscription, TierRequest, TierRequestState
from portal.access import is_staff
from portal.customers.models import Customer


def active_subscription(customer: Customer) -> Subscription | None:
    """The customer's tier now, or None before an admin placed it."""
    return Subscription.objects.active().select_related("plan").filter(customer=customer).first()


def with_active_tier(customers: QuerySet[Customer]) -> QuerySet[Customer]:
    """`customers`, each with `active_tier_slug`: the slug of its tier now (None before an admin
    placed it) — read in the same query, however many customers (lists, not one page per row)."""
    tier = Subscription.objects.active().filter(customer=OuterRef("pk")).values("plan__slug")[:1]
    return customers.annotate(active_tier_slug=Subquery(tier))


# The tier list's customers per tier, counted once and kept until a subscription changes
# (plans.receivers forgets it on every save or delete of one); the hour bounds a write made
# around the ORM (a bulk insert) that sent no signal.
CUSTOMER_COUNTS = "tier-customer-counts"
CUSTOMER_COUNTS_SECONDS = 3600


def customers_per_tier() -> dict[int, int]:
    """{tier id: customers on it now} for tiers with any. Counting reads every active
    subscription (2 ms at 10,000 customers, growing with them), so the count is kept."""
    counts = cache.get(CUSTOMER_COUNTS)
    if counts is None:
        counts = dict(
            Subscription.objects.active()
            .order_by()
            .values("plan")
            .annotate(n=Count("pk"))
            .values_list("plan", "n")
        )
        cache.set(CUSTOMER_COUNTS, counts, CUSTOMER_COUNTS_SECONDS)
    return counts


def forget_customers_per_tier() -> None:
    """A subscription started, ended or went: the next tier list counts again. Forgotten now
    and once more after the commit: a list read in between counted without this change."""
    cache.delete(CUSTOMER_COUNTS)
    transaction.on_commit(lambda: cache.delete(CUSTOMER_COUNTS))


def tiers_offered() -> PlanQuerySet:
    """What the pricing page shows anyone: live, listed tiers, approval-required ones included
    (a customer must see a tier to ask for it)."""
    return Plan.objects.listed()


def tiers_visible_to(user: Any, customer: Customer | None) -> PlanQuerySet:
    """Staff see every tier; others the offered tiers, plus the one their organisation is on
    (an unlisted or retired tier stays visible to the customers still on it)."""
    if is_staff(user):
        return Plan.objects.all()
    if customer is None:
        return tiers_offered()
    own = Subscription.objects.active().filter(customer=customer).values("plan_id")
    return Plan.objects.filter(Q(archived_at__isnull=True, listed=True) | Q(pk__in=own))


def latest_tier_request(customer: Customer) -> TierRequest | None:
    """What the tier page tells the customer about its last request (a withdrawn one is not
    news: None)."""
    found = (
        TierRequest.objects.filter(customer=customer).select_related("plan", "requested_by").first()
    )
    return None if found is None or found.state == TierRequestState.WITHDRAWN else found


def tier_request_queue(state: str = TierRequestState.PENDING) -> QuerySet[TierRequest]:
    """The console's queue: requests in `state` ("" for all), oldest pending first, each with
    `current_tier`, the name of the customer's tier now (one query, however many)."""
    current = Subscription.objects.active().filter(customer=OuterRef("customer_id"))
    requests = TierRequest.objects.select_related(
        "customer", "plan", "requested_by", "decided_by"
    ).annotate(current_tier=Subquery(current.values("plan__name")[:1]))
    if state:
        requests = requests.filter(state=state)
    if state == TierRequestState.PENDING:
        return requests.order_by("created_at", "pk")
    return requests
