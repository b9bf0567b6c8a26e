"""Shapes of what belongs to no domain: customers, memberships and `me`."""

from __future__ import annotations

from typing import Any, cast

from rest_framework import serializers

from plans.selectors import active_subscription
from portal.customers.models import Customer

NOT_READ = object()  # a customer read without its tier (`me`): one more query


class CustomerSerializer(serializers.ModelSerializer[Customer]):
    tier = serializers.SerializerMethodField(help_text="The slug of the active tier, if any.")

    class Meta:
        model = Customer
        fields = ["id", "name", "slug", "tier", "created_at"]
        read_only_fields = fields

    def get_tier(self, customer: Customer) -> str | None:
        slug = getattr(customer, "active_tier_slug", NOT_READ)  # plans.selectors.with_active_tier
        if slug is not NOT_READ:
            return cast(str | None, slug)
        subscription = active_subscription(customer)
        return subscription.plan.slug if subscription else None


class OrganisationSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    name = serializers.CharField()
    role = serializers.CharField()


class MeSerializer(serializers.Serializer[Any]):
    email = serializers.EmailField()
    staff_role = serializers.CharField(help_text="admin, ops, or empty for a customer.")
    customer = CustomerSerializer(
        allow_null=True, help_text="The organisation you work in (POST me/organisation switches)."
    )
    role = serializers.CharField(allow_null=True, help_text="owner or member of that organisation.")
    organisations = OrganisationSerializer(many=True)
    authenticated_by = serializers.ChoiceField(choices=["session", "token"])
    token_scope = serializers.CharField(allow_null=True)
