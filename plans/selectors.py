"""Reads of tiers, stages and subscriptions that pages, the REST API and the CLI share."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, IntegerField, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce

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


def customers_on_tier() -> Coalesce:
    """For annotating tiers: how many customers are on each now (the active subscriptions'
    partial index, counted per tier rather than joined and grouped)."""
    counted = (
        Subscription.objects.active()
        .filter(plan=OuterRef("pk"))
        .order_by()
        .values("plan")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


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
