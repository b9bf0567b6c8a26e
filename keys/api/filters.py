"""Query filters of the key and key-import lists (django-filter)."""

from __future__ import annotations

import django_filters

from keys.models import ApiKey, KeyImport, KeyImportStatus
from portal.rest.filters import IdFilter
from portal.sync import SyncStatus


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


class KeyImportFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=KeyImportStatus.choices)

    class Meta:
        model = KeyImport
        fields = ["status"]
