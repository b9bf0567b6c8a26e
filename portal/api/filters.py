"""Query filters of the lists (django-filter). Bad values are a 400 with the field named."""

from __future__ import annotations

from typing import Any

import django_filters
from django import forms
from django.db import models

from keys.models import ApiKey
from plans.models import ApiStage, Plan, Subscription, SubscriptionStatus
from portal.api.serializers import MAX_ID
from portal.customers.models import Customer, Membership, MembershipRole
from portal.sync import SyncStatus
from portal.usage.models import UsageDay


class IdFilter(django_filters.NumberFilter):
    field_class = forms.IntegerField

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(*args, **kwargs)


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
    sync_status = django_filters.ChoiceFilter(choices=SyncStatus.choices)

    class Meta:
        model = Plan
        fields = ["archived", "self_serve", "sync_status"]


class CustomerFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(field_name="name", lookup_expr="icontains", label="Name contains")
    tier = django_filters.CharFilter(method="on_tier", label="Active tier's slug")

    class Meta:
        model = Customer
        fields = ["q", "tier"]

    def on_tier(self, queryset: models.QuerySet[Any], name: str, value: str) -> Any:
        return queryset.filter(
            subscriptions__status=SubscriptionStatus.ACTIVE, subscriptions__plan__slug=value
        )


class MembershipFilter(django_filters.FilterSet):
    customer = IdFilter(field_name="customer_id")
    role = django_filters.ChoiceFilter(choices=MembershipRole.choices)

    class Meta:
        model = Membership
        fields = ["customer", "role"]


class SubscriptionFilter(django_filters.FilterSet):
    customer = IdFilter(field_name="customer_id")
    status = django_filters.ChoiceFilter(choices=SubscriptionStatus.choices)
    tier = django_filters.CharFilter(field_name="plan__slug")

    class Meta:
        model = Subscription
        fields = ["customer", "status", "tier"]


class KeyFilter(django_filters.FilterSet):
    customer = IdFilter(field_name="customer_id")
    revoked = django_filters.BooleanFilter(
        field_name="revoked_at", lookup_expr="isnull", exclude=True
    )
    enabled = django_filters.BooleanFilter()
    sync_status = django_filters.ChoiceFilter(choices=SyncStatus.choices)
    name = django_filters.CharFilter(lookup_expr="icontains")

    class Meta:
        model = ApiKey
        fields = ["customer", "revoked", "enabled", "sync_status", "name"]


class UsageDayFilter(django_filters.FilterSet):
    key = django_filters.UUIDFilter(field_name="key__public_id")
    customer = IdFilter(field_name="key__customer_id")
    tier = django_filters.CharFilter(field_name="plan__slug")

    class Meta:
        model = UsageDay
        fields = ["key", "customer", "tier"]


# `from` and `to` are the query parameters' names; `from` cannot be a class attribute.
UsageDayFilter.base_filters["from"] = django_filters.DateFilter(
    field_name="date", lookup_expr="gte", label="First day (UTC), inclusive"
)
UsageDayFilter.base_filters["to"] = django_filters.DateFilter(
    field_name="date", lookup_expr="lte", label="Last day (UTC), inclusive"
)
