"""Query filters of the stage, tier, subscription and customer lists (django-filter)."""

from __future__ import annotations

from typing import Any

import django_filters
from django.db import models

from plans.models import (
    ACTIVE_SUBSCRIPTION,
    ApiStage,
    Plan,
    Subscription,
    SubscriptionStatus,
    TierRequest,
    TierRequestState,
)
from portal.customers.models import Customer
from portal.rest.filters import IdFilter
from portal.sync import SyncStatus


class StageFilter(django_filters.FilterSet):
    available = django_filters.BooleanFilter()
    api_name = django_filters.CharFilter(lookup_expr="icontains")

    class Meta:
        model = ApiStage
        fields = ["available", "api_name"]


class TierFilter(django_filters.FilterSet):
    archived = django_filters.BooleanFilter(
        field_name="archived_at", lookup_expr="isnull", exclude=True
    )
    self_serve = django_filters.BooleanFilter()
    listed = django_filters.BooleanFilter()
    sync_status = django_filters.ChoiceFilter(choices=SyncStatus.choices)

    class Meta:
        model = Plan
        fields = ["archived", "self_serve", "listed", "sync_status"]


class SubscriptionFilter(django_filters.FilterSet):
    customer = IdFilter(field_name="customer_id")
    status = django_filters.ChoiceFilter(choices=SubscriptionStatus.choices)
    tier = django_filters.CharFilter(field_name="plan__slug")

    class Meta:
        model = Subscription
        fields = ["customer", "status", "tier"]


class CustomerFilter(django_filters.FilterSet):
    """Customers by name and by tier. Here rather than with customers: which tier a customer is
    on is the plans domain's knowledge (portal.customers knows no tiers). The customer list and
    the usage summary both filter with it."""

    q = django_filters.CharFilter(field_name="name", lookup_expr="icontains", label="Name contains")
    tier = django_filters.CharFilter(method="on_tier", label="Active tier's slug")

    class Meta:
        model = Customer
        fields = ["q", "tier"]

    def on_tier(self, queryset: models.QuerySet[Any], name: str, value: str) -> Any:
        return queryset.filter(ACTIVE_SUBSCRIPTION, subscriptions__plan__slug=value)


class TierRequestFilter(django_filters.FilterSet):
    customer = IdFilter(field_name="customer_id")
    state = django_filters.ChoiceFilter(choices=TierRequestState.choices)
    tier = django_filters.CharFilter(field_name="plan__slug")

    class Meta:
        model = TierRequest
        fields = ["customer", "state", "tier"]
