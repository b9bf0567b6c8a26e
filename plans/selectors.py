"""Reads of tiers, stages and subscriptions that pages, the REST API and the CLI share."""

from __future__ import annotations

from typing import Any

from django.db.models import OuterRef, Q, QuerySet, Subquery

from plans.models import Plan, PlanQuerySet, Subscription
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
