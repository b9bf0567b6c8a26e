"""The endpoints that belong to no domain: customers and `me` (memberships and invitations are
portal.teams'). Every domain's own
endpoints live in its `api` module (plans.api, keys.api, portal.usage.api, portal.reconcile.api);
portal/api/urls.py registers them all."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from keys.api.filters import CustomerListFilter
from plans.selectors import with_active_tier
from portal.api import serializers as s
from portal.customers.models import Customer
from portal.customers.selectors import memberships_of
from portal.rest.permissions import ANYONE, customer_of
from portal.rest.viewsets import ETagMixin, ScopedViewSet
from portal.tokens.models import PersonalAccessToken


@extend_schema_view(
    list=extend_schema(summary="List customers (staff: all; a customer: its own)"),
    retrieve=extend_schema(summary="One customer"),
)
class CustomerViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    # The tier of every customer in the same query (no query per row).
    queryset = with_active_tier(Customer.objects.all())
    serializer_class = s.CustomerSerializer
    filterset_class = CustomerListFilter
    ordering = ("name", "pk")
    ordering_fields = ["name", "created_at", "pk"]


class MeView(ETagMixin, APIView):
    audience = ANYONE

    @extend_schema(summary="Who you are to the API", responses=s.MeSerializer)
    def get(self, request: Request) -> Response:
        token = request.auth if isinstance(request.auth, PersonalAccessToken) else None
        customer = customer_of(request)
        memberships = list(memberships_of(request.user))  # type: ignore[arg-type]
        return Response(
            s.MeSerializer(
                {
                    "email": request.user.email,  # type: ignore[union-attr]
                    "staff_role": request.user.staff_role,  # type: ignore[union-attr]
                    "customer": customer,
                    "role": next(
                        (m.role for m in memberships if customer and m.customer_id == customer.pk),
                        None,
                    ),
                    "organisations": [
                        {"id": m.customer_id, "name": m.customer.name, "role": m.role}
                        for m in memberships
                    ],
                    "authenticated_by": "token" if token else "session",
                    "token_scope": token.scope if token else None,
                }
            ).data
        )
