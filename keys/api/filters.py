"""Query filters of the key, key-import and staff customer lists (django-filter)."""

from __future__ import annotations

import contextlib
import uuid
from typing import Any

import django_filters
from django.db import models

from keys.models import ApiKey, KeyImport, KeyImportStatus
from plans.api.filters import CustomerFilter
from plans.models import Subscription
from portal.customers.selectors import SEARCH_MAX_LENGTH, customers_matching
from portal.rest.filters import IdFilter
from portal.sync import SyncStatus

# What a key can be stuck at, as the customer lists filter it (synced is everyone else).
KEY_TROUBLE = [
    (s.value, s.label) for s in (SyncStatus.FAILED, SyncStatus.PENDING, SyncStatus.DRIFTED)
]
PREFIX_LENGTH = 8  # ApiKey.display_prefix: longer text is no prefix


def customers_on_tier(slug: str) -> models.QuerySet[Any]:
    """The ids of the customers whose active tier is `slug` (a subquery, never a list)."""
    return Subscription.objects.active().filter(plan__slug=slug).values("customer_id")


class KeyFilter(django_filters.FilterSet):
    customer = IdFilter(field_name="customer_id")
    revoked = django_filters.BooleanFilter(
        field_name="revoked_at", lookup_expr="isnull", exclude=True
    )
    enabled = django_filters.BooleanFilter()
    sync_status = django_filters.ChoiceFilter(choices=SyncStatus.choices)
    name = django_filters.CharFilter(lookup_expr="icontains")
    search = django_filters.CharFilter(
        method="on_search",
        max_length=SEARCH_MAX_LENGTH,
        label="Part of the key's name, the start of its prefix, or its id or API Gateway id",
    )
    tier = django_filters.CharFilter(method="on_tier", label="The slug of its customer's tier")

    class Meta:
        model = ApiKey
        fields = ["customer", "revoked", "enabled", "sync_status", "name", "search", "tier"]

    def on_search(self, queryset: models.QuerySet[Any], name: str, value: str) -> Any:
        text = value.strip()
        if not text:
            return queryset
        with contextlib.suppress(ValueError):  # a key's id is looked up by its unique index
            return queryset.filter(public_id=uuid.UUID(text))
        found = models.Q(name__icontains=text) | models.Q(aws_id=text)
        if len(text) <= PREFIX_LENGTH:
            found |= models.Q(display_prefix__startswith=text)
        return queryset.filter(found)

    def on_tier(self, queryset: models.QuerySet[Any], name: str, value: str) -> Any:
        return queryset.filter(customer_id__in=customers_on_tier(value))


class CustomerListFilter(CustomerFilter):
    """The customer lists' filters: /api/v1/customers and the console's customer list, the one
    rule for both. With keys rather than plans: it asks about keys, which plans cannot."""

    search = django_filters.CharFilter(
        method="on_search",
        max_length=SEARCH_MAX_LENGTH,
        label="Part of the name or slug, or of a member's email address (`@acme.com`)",
    )
    has_tier = django_filters.BooleanFilter(
        method="on_has_tier", label="On a tier now (false: customers on none)"
    )
    key_sync_status = django_filters.ChoiceFilter(
        choices=KEY_TROUBLE,
        method="on_key_sync_status",
        label="Has a live key in this sync status",
    )

    class Meta(CustomerFilter.Meta):
        fields = ["q", "tier", "search", "has_tier", "key_sync_status"]

    def on_search(self, queryset: models.QuerySet[Any], name: str, value: str) -> Any:
        return customers_matching(queryset, value)

    def on_has_tier(self, queryset: models.QuerySet[Any], name: str, value: bool) -> Any:
        on_any = Subscription.objects.active().values("customer_id")
        return queryset.filter(pk__in=on_any) if value else queryset.exclude(pk__in=on_any)

    def on_key_sync_status(self, queryset: models.QuerySet[Any], name: str, value: str) -> Any:
        stuck = ApiKey.objects.filter(revoked_at__isnull=True, sync_status=value)
        return queryset.filter(pk__in=stuck.values("customer_id"))


class KeyImportFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=KeyImportStatus.choices)

    class Meta:
        model = KeyImport
        fields = ["status"]
