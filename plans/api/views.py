"""Stages, tiers and subscriptions over REST: thin callers of plans.services and plans.selectors,
the same as the console's and the customer's tier pages."""

from __future__ import annotations

from typing import Any

from django.db import models
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import exceptions, mixins, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from plans import services as plan_services
from plans import stages as stage_services
from plans.api import filters
from plans.api import serializers as s
from plans.models import ApiStage, Plan, Subscription
from plans.selectors import tiers_visible_to
from plans.services import PLAN_FIELDS
from portal.access import is_staff
from portal.rest.permissions import STAFF
from portal.rest.viewsets import SLUG_RE, ScopedViewSet, customer_named, request_ip

# --- stages -------------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(summary="List the REST API stages discovered in AWS"),
    retrieve=extend_schema(summary="One API stage"),
    partial_update=extend_schema(
        summary="Offer a stage to tiers, or withdraw it (admin)",
        request=s.StageAvailabilitySerializer,
        examples=[OpenApiExample("Offer it", value={"available": True}, request_only=True)],
    ),
)
class StageViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    audience = STAFF
    queryset = ApiStage.objects.select_related("connection")
    serializer_class = s.StageSerializer
    filterset_class = filters.StageFilter
    ordering = ("api_name", "stage_name", "pk")
    ordering_fields = ["api_name", "stage_name", "pk"]
    http_method_names = ["get", "post", "patch", "head", "options"]

    def partial_update(self, request: Request, pk: str | None = None) -> Response:
        stage = self.get_object()
        body = s.StageAvailabilitySerializer(data=request.data)
        body.is_valid(raise_exception=True)
        stage_services.stage_set_available(
            actor=request.user,
            stage=stage,
            available=body.validated_data["available"],
            ip=request_ip(request),
        )
        stage.refresh_from_db()
        return Response(s.StageSerializer(stage, context={"request": request}).data)

    @extend_schema(
        summary="Look for stages in AWS now (admin)",
        description="The console's “Refresh from AWS” button: a task reads GetRestApis and "
        "GetStages shortly after (instead of at the next 10-minute run). Answers 202 at once; "
        "list the stages again in a moment.",
        request=None,
        responses={
            202: OpenApiResponse(
                s.StageRefreshSerializer,
                examples=[
                    OpenApiExample(
                        "Asked",
                        value={
                            "detail": "Looking for REST API stages in AWS.",
                            "requested_at": "2025-06-01T12:00:00Z",
                        },
                    )
                ],
            )
        },
    )
    @action(detail=False, methods=["post"])
    def refresh(self, request: Request) -> Response:
        stage_services.stages_refresh_requested(actor=request.user, ip=request_ip(request))
        return Response(
            s.StageRefreshSerializer(
                {
                    "detail": "Looking for REST API stages in AWS.",
                    "requested_at": stage_services.stages_refresh_requested_at(),
                }
            ).data,
            status=status.HTTP_202_ACCEPTED,
        )


# --- tiers --------------------------------------------------------------------------------------


TIER_EXAMPLE = {
    "name": "Premium",
    "description": "For production",
    "self_serve": True,
    "listed": True,
    "throttle_rate": "50.00",
    "throttle_burst": 100,
    "quota_limit": 100000,
    "quota_period": "MONTH",
    "quota_offset": 0,
    "monthly_price": "49.00",
    "stages": [1],
    "method_throttles": [{"stage": 1, "method": "GET /forecast", "rate": "5.00", "burst": 10}],
}


@extend_schema_view(
    list=extend_schema(
        summary="List tiers",
        description="Staff see every tier; a customer sees what the pricing page shows (every "
        "live listed tier, approval-required ones included) and the tier it is on.",
    ),
    retrieve=extend_schema(summary="One tier, by slug"),
    create=extend_schema(
        summary="Create a tier (admin)",
        request=s.TierWriteSerializer,
        responses={201: s.TierSerializer},
        examples=[OpenApiExample("Premium", value=TIER_EXAMPLE, request_only=True)],
    ),
    partial_update=extend_schema(
        summary="Change a tier (admin); only a real change is sent to API Gateway",
        request=s.TierWriteSerializer,
        examples=[
            OpenApiExample("Raise the quota", value={"quota_limit": 200000}, request_only=True)
        ],
    ),
)
class TierViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, ScopedViewSet
):
    queryset = Plan.objects.prefetch_related("stages", "method_throttles", "copies__connection")
    serializer_class = s.TierSerializer
    filterset_class = filters.TierFilter
    lookup_field = "slug"
    lookup_value_regex = SLUG_RE
    ordering = ("name",)
    ordering_fields = ["name", "slug", "created_at", "pk"]
    http_method_names = ["get", "post", "patch", "head", "options"]

    def restrict(self, queryset: models.QuerySet[Any]) -> models.QuerySet[Any]:
        """Which tiers a person sees is the plans domain's one rule (plans.selectors)."""
        return queryset & tiers_visible_to(self.request.user, self.acting_customer())

    def _respond(self, plan: Plan, code: int = 200) -> Response:
        plan = Plan.objects.prefetch_related(
            "stages", "method_throttles", "copies__connection"
        ).get(pk=plan.pk)
        return Response(self.get_serializer(plan).data, status=code)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        body = s.TierWriteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = dict(body.validated_data)
        stages = data.pop("stages", [])
        method_throttles = data.pop("method_throttles", [])
        plan = plan_services.plan_create(
            actor=request.user,
            data=data,
            stages=stages,
            ip=request_ip(request),
            method_throttles=method_throttles,
        )
        return self._respond(plan, status.HTTP_201_CREATED)

    def partial_update(self, request: Request, slug: str | None = None) -> Response:
        plan = self.get_object()
        body = s.TierWriteSerializer(data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        data = {field: getattr(plan, field) for field in PLAN_FIELDS}
        data.update(body.validated_data)
        stages = data.pop("stages", None)
        method_throttles = data.pop("method_throttles", None)  # left out: unchanged
        plan = plan_services.plan_update(
            actor=request.user,
            plan=plan,
            data=data,
            stages=list(plan.stages.all()) if stages is None else stages,
            ip=request_ip(request),
            method_throttles=method_throttles,
        )
        return self._respond(plan)

    @extend_schema(
        summary="Archive a tier (admin): it leaves API Gateway",
        request=None,
        responses={200: s.TierSerializer},
    )
    @action(detail=True, methods=["post"])
    def archive(self, request: Request, slug: str | None = None) -> Response:
        plan = plan_services.plan_archive(
            actor=request.user, plan=self.get_object(), ip=request_ip(request)
        )
        return self._respond(plan)

    @extend_schema(
        summary="Send a tier to API Gateway again (admin)",
        request=None,
        responses={202: s.TierSerializer},
    )
    @action(detail=True, methods=["post"], url_path="retry-sync")
    def retry_sync(self, request: Request, slug: str | None = None) -> Response:
        plan = self.get_object()
        plan_services.plan_retry_sync(actor=request.user, plan=plan, ip=request_ip(request))
        return self._respond(plan, status.HTTP_202_ACCEPTED)


# --- subscriptions ------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(summary="List subscriptions: which customer was on which tier, when"),
    retrieve=extend_schema(summary="One subscription"),
)
class SubscriptionViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    queryset = Subscription.objects.select_related("plan")
    serializer_class = s.SubscriptionSerializer
    filterset_class = filters.SubscriptionFilter
    ordering = ("-created_at", "-pk")
    ordering_fields = ["created_at", "pk"]


class SubscriptionSwitchView(APIView):
    customer_may_write = True

    @extend_schema(
        summary="Switch tier; every key moves to its usage plan",
        description="A customer may switch to a self-serve tier it can see; an "
        "approval-required tier is refused with a 400 that says so. Staff may place any "
        "customer (`customer`) on any live tier.",
        request=s.SwitchSerializer,
        responses={200: s.SubscriptionSerializer},
        examples=[OpenApiExample("Move to Premium", value={"tier": "premium"}, request_only=True)],
    )
    def post(self, request: Request) -> Response:
        body = s.SwitchSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        staff = is_staff(request.user)
        customer = customer_named(
            request, body.validated_data.get("customer"), missing="Say which customer to move."
        )
        visible = tiers_visible_to(request.user, None if staff else customer)
        plan = visible.live().filter(slug=body.validated_data["tier"]).first()
        if plan is None:
            raise exceptions.ValidationError({"tier": ["That tier is not offered."]})
        subscription = plan_services.subscription_switch(
            actor=request.user,
            customer=customer,
            plan=plan,
            ip=request_ip(request),
            by_staff=staff,
        )
        return Response(s.SubscriptionSerializer(subscription).data)
