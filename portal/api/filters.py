"""Query filters of the lists that belong to no domain (customers filter with
plans.api.filters.CustomerFilter: a customer's tier is the plans domain's knowledge)."""

from __future__ import annotations

import django_filters

from portal.customers.models import Membership, MembershipRole
from portal.rest.filters import IdFilter


class MembershipFilter(django_filters.FilterSet):
    customer = IdFilter(field_name="customer_id")
    role = django_filters.ChoiceFilter(choices=MembershipRole.choices)

    class Meta:
        model = Membership
        fields = ["customer", "role"]
