"""The usage summary's serializers (`/api/v1/usage/summary`): a customer's figures this quota
period, per key and per account and region (portal.usage.figures)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from portal.usage.figures import CustomerTotals, KeyTotals
from portal.usage.regions import RegionUsage


class RegionUsageSerializer(serializers.Serializer[Any]):
    where = serializers.CharField(help_text="“eu-west-1”, or “Partner · us-east-1”.")
    used = serializers.IntegerField(help_text="This period, in this account and region.")
    remaining = serializers.IntegerField(
        allow_null=True, help_text="Quota left there: each region meters a quota of its own."
    )

    def to_representation(self, instance: RegionUsage) -> dict[str, Any]:
        # Read-only and flat: the fields above say what it is (for the schema); a staff page
        # of 50 customers has ~250 keys, and DRF's field-by-field walk was a third of it.
        return {"where": instance.where, "used": instance.used, "remaining": instance.remaining}


class KeyUsageSerializer(serializers.Serializer[Any]):
    key = serializers.UUIDField(source="key.public_id")
    name = serializers.CharField(source="key.name")
    used = serializers.IntegerField(help_text="This period, summed over every region.")
    remaining = serializers.IntegerField(
        allow_null=True,
        help_text="Quota left this period, as API Gateway last reported it; for a key in "
        "several regions, the smallest of theirs (see `regions`).",
    )
    regions = RegionUsageSerializer(
        many=True,
        help_text="Per account and region, for a key metered in more than one; else empty.",
    )

    def to_representation(self, instance: KeyTotals) -> dict[str, Any]:
        # As RegionUsageSerializer's: the same fields, without DRF's per-field walk.
        return {
            "key": str(instance.key.public_id),
            "name": instance.key.name,
            "used": instance.used,
            "remaining": instance.remaining,
            "regions": [
                {"where": r.where, "used": r.used, "remaining": r.remaining}
                for r in instance.regions
            ],
        }


class UsageSummarySerializer(serializers.Serializer[Any]):
    """The usage page's figures this period (portal.usage.figures.CustomerTotals)."""

    customer = serializers.IntegerField(source="customer.pk")
    customer_name = serializers.CharField(source="customer.name")
    tier = serializers.CharField(source="plan.slug", allow_null=True, default=None)
    quota_limit = serializers.IntegerField(
        source="plan.quota_limit", allow_null=True, default=None, help_text="Per key, per period."
    )
    quota_period = serializers.SerializerMethodField()
    period_start = serializers.DateField()
    period_end = serializers.DateField()
    used = serializers.IntegerField(
        source="total_used", help_text="All the customer's keys, this period."
    )
    keys = KeyUsageSerializer(many=True)

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_quota_period(self, usage: CustomerTotals) -> str | None:
        return (usage.plan.quota_period or None) if usage.plan else None
