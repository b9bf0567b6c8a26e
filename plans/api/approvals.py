"""Tier requests over REST: thin callers of plans.approvals, the same as the tier page and the
console's queue. Customers list their organisation's requests, and an owner asks and withdraws;
staff list everyone's, and admins approve or reject."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_view
from rest_framework import exceptions, mixins, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from plans import approvals
from plans.api import filters
from plans.api import serializers as s
from plans.models import TierRequest
from plans.selectors import tiers_visible_to
from portal.access import is_staff
from portal.rest.viewsets import ScopedViewSet, customer_named, request_ip


@extend_schema_view(
    list=extend_schema(
        summary="List tier requests",
        description="Requests for approval-only tiers and what was decided. A customer sees its "
        "organisation's; staff see every one (`?state=pending` is the console's queue).",
    ),
    retrieve=extend_schema(summary="One tier request"),
    create=extend_schema(
        summary="Ask for an approval-only tier (an owner)",
        description="Nothing changes in API Gateway until an admin approves. One pending request "
        "per organisation (a second one is a 409); a plain member gets a 403. Staff may ask for "
        "a customer they name (`customer`).",
        request=s.TierRequestCreateSerializer,
        responses={201: s.TierRequestSerializer},
        examples=[
            OpenApiExample(
                "Enterprise",
                value={"tier": "enterprise", "message": "About 2 million calls a month."},
                request_only=True,
            )
        ],
    ),
)
class TierRequestViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, ScopedViewSet
):
    queryset = TierRequest.objects.select_related("customer", "plan", "requested_by", "decided_by")
    serializer_class = s.TierRequestSerializer
    filterset_class = filters.TierRequestFilter
    ordering = ("-created_at", "-pk")
    ordering_fields = ["created_at", "pk"]
    # Whether this person may ask for or withdraw one is the service's question (owners only).
    customer_actions = frozenset({"create", "withdraw"})

    def _respond(self, tier_request: TierRequest, code: int = 200) -> Response:
        fresh = self.queryset.get(pk=tier_request.pk)
        return Response(s.TierRequestSerializer(fresh).data, status=code)

    def create(self, request: Request, *args: object, **kwargs: object) -> Response:
        body = s.TierRequestCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        staff = is_staff(request.user)
        customer = customer_named(
            request, body.validated_data.get("customer"), missing="Say which customer asks."
        )
        visible = tiers_visible_to(request.user, None if staff else customer)
        plan = visible.live().filter(slug=body.validated_data["tier"]).first()
        if plan is None:
            raise exceptions.ValidationError({"tier": ["That tier is not offered."]})
        tier_request = approvals.tier_request_create(
            actor=request.user,
            customer=customer,
            plan=plan,
            message=body.validated_data.get("message", ""),
            ip=request_ip(request),
        )
        return self._respond(tier_request, status.HTTP_201_CREATED)

    @extend_schema(
        summary="Withdraw a pending tier request (an owner)",
        request=None,
        responses={200: s.TierRequestSerializer},
    )
    @action(detail=True, methods=["post"])
    def withdraw(self, request: Request, pk: str | None = None) -> Response:
        tier_request = approvals.tier_request_withdraw(
            actor=request.user, request=self.get_object(), ip=request_ip(request)
        )
        return self._respond(tier_request)

    @extend_schema(
        summary="Approve a tier request (admin): the customer and its keys move to the tier",
        description="Starts the customer's subscription to the tier, as a switch does; every "
        "key moves to the tier's usage plan in API Gateway shortly after. The owners are emailed.",
        request=None,
        responses={200: s.TierRequestSerializer},
    )
    @action(detail=True, methods=["post"])
    def approve(self, request: Request, pk: str | None = None) -> Response:
        tier_request = approvals.tier_request_approve(
            actor=request.user, request=self.get_object(), ip=request_ip(request)
        )
        return self._respond(tier_request)

    @extend_schema(
        summary="Reject a tier request, saying why (admin)",
        description="Nothing changes in API Gateway. The owners are emailed the reason.",
        request=s.TierRequestRejectSerializer,
        responses={200: s.TierRequestSerializer},
        examples=[
            OpenApiExample(
                "Why", value={"reason": "Please tell us more about your use."}, request_only=True
            )
        ],
    )
    @action(detail=True, methods=["post"])
    def reject(self, request: Request, pk: str | None = None) -> Response:
        body = s.TierRequestRejectSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        tier_request = approvals.tier_request_reject(
            actor=request.user,
            request=self.get_object(),
            reason=body.validated_data.get("reason", ""),
            ip=request_ip(request),
        )
        return self._respond(tier_request)
