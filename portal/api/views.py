"""The REST API's endpoints: thin callers of the same services and selectors as the pages."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError
from django.db import models, transaction
from django.db.models import Q
from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import exceptions, mixins, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from keys import services as key_services
from keys.models import ApiKey
from keys.selectors import invoke_urls_for
from plans import services as plan_services
from plans.models import ApiStage, Plan, Subscription, SubscriptionStatus
from plans.services import PLAN_FIELDS
from portal.accounts.access import client_ip
from portal.api import filters
from portal.api import serializers as s
from portal.api.errors import Conflict, Gone, ServiceUnavailable
from portal.api.permissions import ANYONE, STAFF, customer_of, is_staff
from portal.api.selectors import drift_row, sync_status, usage_summary
from portal.api.viewsets import ETagMixin, ScopedViewSet
from portal.customers.models import Customer, Membership
from portal.reconcile import services as reconcile_services
from portal.sync import SyncStatus
from portal.tokens.models import PersonalAccessToken
from portal.usage import metrics as usage_metrics
from portal.usage.models import UsageDay

UUID_RE = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"


def _ip(request: Request) -> str | None:
    return client_ip(request._request)


def _own_customer(request: Request, named: int | None) -> Customer:
    """A customer acts for its own organisation; naming another one finds nothing (404)."""
    customer = customer_of(request)
    assert customer is not None  # TollgatePermission refused people without one
    if named is not None and named != customer.pk:
        raise exceptions.NotFound("No such customer.")
    return customer


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
    queryset = ApiStage.objects.all()
    serializer_class = s.StageSerializer
    filterset_class = filters.StageFilter
    ordering = ("api_name", "stage_name", "pk")
    ordering_fields = ["api_name", "stage_name", "pk"]
    http_method_names = ["get", "patch", "head", "options"]

    def partial_update(self, request: Request, pk: str | None = None) -> Response:
        stage = self.get_object()
        body = s.StageAvailabilitySerializer(data=request.data)
        body.is_valid(raise_exception=True)
        plan_services.stage_set_available(
            actor=request.user,
            stage=stage,
            available=body.validated_data["available"],
            ip=_ip(request),
        )
        stage.refresh_from_db()
        return Response(s.StageSerializer(stage, context={"request": request}).data)


# --- tiers --------------------------------------------------------------------------------------


TIER_EXAMPLE = {
    "name": "Premium",
    "description": "For production",
    "self_serve": True,
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
        description="Staff see every tier; a customer sees the live self-serve tiers and its own.",
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
    queryset = Plan.objects.prefetch_related("stages", "method_throttles")
    serializer_class = s.TierSerializer
    filterset_class = filters.TierFilter
    lookup_field = "slug"
    lookup_value_regex = r"[-a-zA-Z0-9_]+"
    ordering = ("name",)
    ordering_fields = ["name", "slug", "created_at", "pk"]
    http_method_names = ["get", "post", "patch", "head", "options"]

    def scope_for_customer(
        self, queryset: models.QuerySet[Any], customer: Customer
    ) -> models.QuerySet[Any]:
        own = Subscription.objects.filter(
            customer=customer, status=SubscriptionStatus.ACTIVE
        ).values("plan_id")
        return queryset.filter(
            Q(archived_at__isnull=True, self_serve=True) | Q(pk__in=own)
        ).distinct()

    def _respond(self, plan: Plan, code: int = 200) -> Response:
        plan = Plan.objects.prefetch_related("stages", "method_throttles").get(pk=plan.pk)
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
            ip=_ip(request),
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
            ip=_ip(request),
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
            actor=request.user, plan=self.get_object(), ip=_ip(request)
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
        plan_services.plan_retry_sync(actor=request.user, plan=plan, ip=_ip(request))
        return self._respond(plan, status.HTTP_202_ACCEPTED)


# --- customers, memberships, subscriptions -------------------------------------------------------


@extend_schema_view(
    list=extend_schema(summary="List customers (staff: all; a customer: its own)"),
    retrieve=extend_schema(summary="One customer"),
)
class CustomerViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    queryset = Customer.objects.all()
    serializer_class = s.CustomerSerializer
    filterset_class = filters.CustomerFilter
    customer_path = "pk"
    ordering = ("name", "pk")
    ordering_fields = ["name", "created_at", "pk"]

    def scope_for_customer(
        self, queryset: models.QuerySet[Any], customer: Customer
    ) -> models.QuerySet[Any]:
        return queryset.filter(pk=customer.pk)


@extend_schema_view(
    list=extend_schema(summary="List memberships: who belongs to which organisation"),
    retrieve=extend_schema(summary="One membership"),
)
class MembershipViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    queryset = Membership.objects.select_related("user")
    serializer_class = s.MembershipSerializer
    filterset_class = filters.MembershipFilter
    ordering = ("created_at", "pk")
    ordering_fields = ["created_at", "pk"]


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
        description="A customer may switch to a self-serve tier; an approval-required tier is "
        "refused with a 400 that says so. Staff may place any customer (`customer`) on any "
        "live tier.",
        request=s.SwitchSerializer,
        responses={200: s.SubscriptionSerializer},
        examples=[OpenApiExample("Move to Premium", value={"tier": "premium"}, request_only=True)],
    )
    def post(self, request: Request) -> Response:
        body = s.SwitchSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        staff = is_staff(request.user)
        if staff:
            if "customer" not in body.validated_data:
                raise exceptions.ValidationError({"customer": ["Say which customer to move."]})
            customer = Customer.objects.filter(pk=body.validated_data["customer"]).first()
            if customer is None:
                raise exceptions.ValidationError({"customer": ["No such customer."]})
        else:
            customer = _own_customer(request, body.validated_data.get("customer"))
        plan = Plan.objects.live().filter(slug=body.validated_data["tier"]).first()
        if plan is None:
            raise exceptions.ValidationError({"tier": ["That tier is not offered."]})
        subscription = plan_services.subscription_switch(
            actor=request.user, customer=customer, plan=plan, ip=_ip(request), by_staff=staff
        )
        return Response(s.SubscriptionSerializer(subscription).data)


# --- keys ---------------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(summary="List API keys"),
    retrieve=extend_schema(summary="One API key"),
    create=extend_schema(
        summary="Create an API key",
        description="Answers 201 at once with `sync.status` **pending** and `secret` **null**: "
        "API Gateway generates the secret when the key reaches it. Poll the key until "
        "`secret_state` is `ready`, then POST /api/v1/keys/{id}/reveal — once.",
        request=s.KeyCreateSerializer,
        responses={201: s.KeySerializer},
        examples=[OpenApiExample("A key for CI", value={"name": "CI"}, request_only=True)],
    ),
    partial_update=extend_schema(
        summary="Rename a key, or disable/enable it",
        request=s.KeyUpdateSerializer,
        examples=[
            OpenApiExample("Rename", value={"name": "production"}, request_only=True),
            OpenApiExample("Disable", value={"enabled": False}, request_only=True),
        ],
    ),
    destroy=extend_schema(summary="Revoke a key (same as POST …/revoke)"),
)
class KeyViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, ScopedViewSet
):
    queryset = ApiKey.objects.select_related("customer")
    serializer_class = s.KeySerializer
    filterset_class = filters.KeyFilter
    lookup_field = "public_id"
    lookup_url_kwarg = "id"
    lookup_value_regex = UUID_RE
    customer_actions = frozenset(
        {"create", "partial_update", "destroy", "revoke", "retry_sync", "reveal"}
    )
    ordering = ("-created_at", "-pk")
    ordering_fields = ["name", "created_at", "pk"]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def _respond(self, key: ApiKey, code: int = 200) -> Response:
        key.refresh_from_db()
        return Response(self.get_serializer(key).data, status=code)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        body = s.KeyCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        if is_staff(request.user):
            if "customer" not in body.validated_data:
                raise exceptions.ValidationError(
                    {"customer": ["Say which customer the key is for."]}
                )
            customer = Customer.objects.filter(pk=body.validated_data["customer"]).first()
            if customer is None:
                raise exceptions.ValidationError({"customer": ["No such customer."]})
        else:
            customer = _own_customer(request, body.validated_data.get("customer"))
        key = key_services.key_create(
            actor=request.user, customer=customer, name=body.validated_data["name"], ip=_ip(request)
        )
        return self._respond(key, status.HTTP_201_CREATED)

    def partial_update(self, request: Request, id: str | None = None) -> Response:
        key = self.get_object()
        body = s.KeyUpdateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        with transaction.atomic():
            if "name" in body.validated_data:
                key = key_services.key_rename(
                    actor=request.user, key=key, name=body.validated_data["name"], ip=_ip(request)
                )
            if "enabled" in body.validated_data:
                key = key_services.key_set_enabled(
                    actor=request.user,
                    key=key,
                    enabled=body.validated_data["enabled"],
                    ip=_ip(request),
                )
        return self._respond(key)

    def destroy(self, request: Request, id: str | None = None) -> Response:
        key_services.key_revoke(actor=request.user, key=self.get_object(), ip=_ip(request))
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary="Revoke a key: it is deleted from API Gateway",
        request=None,
        responses=s.KeySerializer,
    )
    @action(detail=True, methods=["post"])
    def revoke(self, request: Request, id: str | None = None) -> Response:
        key = key_services.key_revoke(actor=request.user, key=self.get_object(), ip=_ip(request))
        return self._respond(key)

    @extend_schema(
        summary="Send a key to API Gateway again",
        request=None,
        responses={202: s.KeySerializer},
    )
    @action(detail=True, methods=["post"], url_path="retry-sync")
    def retry_sync(self, request: Request, id: str | None = None) -> Response:
        key = self.get_object()
        key_services.key_retry_sync(actor=request.user, key=key, ip=_ip(request))
        return self._respond(key, status.HTTP_202_ACCEPTED)

    @extend_schema(
        summary="Reveal the key's secret — exactly once, to its creator",
        description=(
            "Tollgate never stores a key's secret: API Gateway generates it inside the sync task "
            "and Tollgate keeps only its SHA-256. This call claims the one reveal (two racing "
            "calls cannot both win), reads the value from API Gateway, checks it against the "
            "SHA-256 and returns it with `Cache-Control: no-store` — the same service as the "
            "key page. Answers **409** while API Gateway has not issued the key yet (poll the "
            "key until `secret_state` is `ready`), **410** once the secret was shown, the "
            "reveal window (TOLLGATE_SECRET_REVEAL_WINDOW_HOURS, 24 h) passed or the key was "
            "revoked, **403** to anyone but the key's creator. A lost secret is replaced by "
            "creating a new key and revoking the old one."
        ),
        request=None,
        responses={
            200: OpenApiResponse(
                s.RevealedSecretSerializer,
                examples=[
                    OpenApiExample(
                        "The secret",
                        value={
                            "id": "0b8e8d7e-5a38-4a8e-9a55-3f0f2b7c9a11",
                            "prefix": "Xk2p9",
                            "secret": "Xk2p9…(40 characters)",
                            "invoke_urls": [
                                "https://abc123.execute-api.us-east-1.amazonaws.com/prod"
                            ],
                        },
                    )
                ],
            ),
            409: OpenApiResponse(s.ProblemSerializer, description="Not issued by AWS yet."),
            410: OpenApiResponse(s.ProblemSerializer, description="Shown already, or too late."),
        },
    )
    @action(detail=True, methods=["post"])
    def reveal(self, request: Request, id: str | None = None) -> Response:
        key = self.get_object()
        state = s.secret_state(key, request.user)
        refusals: dict[str, exceptions.APIException] = {
            s.SecretState.NOT_YOURS: exceptions.PermissionDenied(
                "Only the person who created this key may see its secret."
            ),
            s.SecretState.REVOKED: Gone("This key has been revoked."),
            s.SecretState.SHOWN: Gone(
                "This key's secret has already been shown; it is shown only once. "
                "Create a new key and revoke this one if the secret was lost."
            ),
            s.SecretState.EXPIRED: Gone(
                f"The secret could be shown only within {s.reveal_window_hours()} hours of "
                "creating the key. Create a new key and revoke this one."
            ),
            s.SecretState.PENDING: Conflict(
                "API Gateway has not issued this key yet; try again when `secret_state` is `ready`."
            ),
        }
        if state in refusals:
            raise refusals[state]
        try:
            secret = key_services.key_reveal_secret(actor=request.user, key=key, ip=_ip(request))
        except key_services.SecretUnavailable as exc:
            key.refresh_from_db()
            raise (Gone(str(exc)) if key.secret_revealed_at else Conflict(str(exc))) from exc
        response = Response(
            {
                "id": key.public_id,
                "prefix": key.display_prefix,
                "secret": secret,
                "invoke_urls": invoke_urls_for(key.customer),
            }
        )
        response["Cache-Control"] = "no-store"
        return response


# --- usage --------------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(
        summary="Requests per key per UTC day, as API Gateway metered them (GetUsage)",
        description="Filter with `key` (a key id), `from` and `to` (inclusive dates). Days "
        "without a request have no row.",
    )
)
class UsageDayViewSet(mixins.ListModelMixin, ScopedViewSet):
    queryset = UsageDay.objects.select_related("key", "plan")
    serializer_class = s.UsageDaySerializer
    filterset_class = filters.UsageDayFilter
    customer_path = "key__customer"
    ordering = ("-date", "-pk")
    ordering_fields = ["date", "pk"]


@extend_schema_view(
    list=extend_schema(
        summary="Usage per customer in the current quota period",
        description="Per key (API Gateway counts quotas per key): used this period and the "
        "quota left. A tier without a quota is summed over the calendar month (UTC).",
        responses=s.UsageSummarySerializer(many=True),
    )
)
class UsageSummaryViewSet(mixins.ListModelMixin, ScopedViewSet):
    queryset = Customer.objects.all()
    serializer_class = s.UsageSummarySerializer
    filterset_class = filters.CustomerFilter
    ordering = ("name", "pk")
    ordering_fields = ["name", "pk"]

    def scope_for_customer(
        self, queryset: models.QuerySet[Any], customer: Customer
    ) -> models.QuerySet[Any]:
        return queryset.filter(pk=customer.pk)

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        assert page is not None
        today = timezone.now().date()
        data = s.UsageSummarySerializer([usage_summary(c, today) for c in page], many=True).data
        return self.get_paginated_response(data)


# --- metrics (staff) ----------------------------------------------------------------------------


class MetricsView(ETagMixin, APIView):
    """The ops metrics page's CloudWatch series, through the same selector and 60-second cache."""

    audience = STAFF

    @extend_schema(
        summary="API-wide CloudWatch series of one stage: requests, errors, latency (staff)",
        description="The ops metrics page's series (`/console/metrics/`): per period, Count, "
        "4XXError and 5XXError (Sum), the error rates, and Latency and IntegrationLatency "
        "(p50, p90, p99, average). `range` picks the span and resolution: **3h** one point a "
        "minute, **24h** every 5 minutes (default), **7d** and **30d** every hour. CloudWatch "
        "is asked at most once a minute per range, whoever asks. When CloudWatch does not "
        "answer: **503** with `Retry-After`.",
        parameters=[s.MetricsQuerySerializer],
        responses={
            200: s.MetricsSerializer,
            503: OpenApiResponse(
                s.ProblemSerializer,
                description="CloudWatch did not answer; `Retry-After` says when to try again.",
                examples=[
                    OpenApiExample(
                        "CloudWatch down",
                        value={
                            "type": "service_unavailable",
                            "title": "Service unavailable",
                            "detail": "CloudWatch did not answer: AWS answered InternalFailure "
                            "(GetMetricData)",
                            "errors": {},
                        },
                    )
                ],
            ),
        },
    )
    def get(self, request: Request) -> Response:
        query = s.MetricsQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        chosen = usage_metrics.RANGES[query.validated_data["range"]]
        stages = usage_metrics.dashboard_stages()
        selected = stages[0] if stages else None
        if "stage" in query.validated_data:
            wanted = query.validated_data["stage"]
            selected = next((stage for stage in stages if stage.pk == wanted), None)
            if selected is None:
                raise exceptions.ValidationError(
                    {"stage": [f"Stage {wanted} is not offered to tiers (see /api/v1/stages)."]}
                )
        try:
            fetched = usage_metrics.fetch_api_metrics(
                [usage_metrics.dims(stage) for stage in stages], chosen
            )
        except BotoCoreError as exc:  # e.g. no credentials: the selector knows AWS errors only
            raise ServiceUnavailable(
                f"CloudWatch did not answer: {exc}", wait=usage_metrics.ERROR_CACHE_SECONDS
            ) from exc
        if fetched.error:
            raise ServiceUnavailable(fetched.error, wait=usage_metrics.ERROR_CACHE_SECONDS)
        shown = None
        if fetched.metrics is not None and selected is not None:
            shown = usage_metrics.stage_metrics(fetched.metrics, usage_metrics.dims(selected))
        return Response(
            s.MetricsSerializer(
                {
                    "range": chosen.key,
                    "range_label": chosen.label,
                    "period": chosen.period,
                    "start": fetched.metrics.start if fetched.metrics else None,
                    "end": fetched.metrics.end if fetched.metrics else None,
                    "stage": {
                        "id": selected.pk,
                        "ref": f"{selected.api_name}/{selected.stage_name}",
                        "region": selected.region,
                        "api_name": selected.api_name,
                        "stage_name": selected.stage_name,
                    }
                    if selected
                    else None,
                    "stages": [stage.pk for stage in stages],
                    "fetched_at": fetched.fetched_at,
                    "totals": shown,
                    "points": shown.rows if shown else [],
                }
            ).data
        )


# --- sync and drift (staff) ---------------------------------------------------------------------


class SyncStatusView(ETagMixin, APIView):
    audience = STAFF

    @extend_schema(
        summary="Sync health: tiers and keys by sync status, and the last reconcile",
        responses=s.SyncStatusSerializer,
    )
    def get(self, request: Request) -> Response:
        return Response(s.SyncStatusSerializer(sync_status()).data)


class DriftSummaryView(ETagMixin, APIView):
    audience = STAFF

    @extend_schema(
        summary="How many tiers and keys differ in AWS, and where to list them",
        responses=s.DriftSummarySerializer,
    )
    def get(self, request: Request) -> Response:
        return Response(
            s.DriftSummarySerializer(
                {
                    "tiers": Plan.objects.filter(sync_status=SyncStatus.DRIFTED).count(),
                    "keys": ApiKey.objects.filter(sync_status=SyncStatus.DRIFTED).count(),
                    "tiers_url": request.build_absolute_uri("/api/v1/sync/drift/tiers"),
                    "keys_url": request.build_absolute_uri("/api/v1/sync/drift/keys"),
                }
            ).data
        )


class DriftViewSet(mixins.ListModelMixin, ScopedViewSet):
    """What the reconciler found changed in AWS; an admin settles each: push ours, or accept AWS."""

    audience = STAFF
    serializer_class = s.DriftSerializer
    filterset_class = None

    def get_queryset(self) -> models.QuerySet[Any]:
        return super().get_queryset().filter(sync_status=SyncStatus.DRIFTED)

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        assert page is not None
        return self.get_paginated_response(
            s.DriftSerializer([drift_row(obj) for obj in page], many=True).data
        )

    @extend_schema(
        summary="Settle a drift (admin): `ours` pushes Tollgate's values, `aws` accepts AWS's",
        request=s.SettleSerializer,
        responses=s.DriftSerializer,
        examples=[OpenApiExample("Push ours", value={"side": "ours"}, request_only=True)],
    )
    @action(detail=True, methods=["post"])
    def settle(self, request: Request, **kwargs: Any) -> Response:
        model = self.get_queryset().model
        lookup = {self.lookup_field: self.kwargs[self.lookup_url_kwarg or self.lookup_field]}
        try:
            obj = get_object_or_404(model._default_manager.all(), **lookup)
        except (ValueError, OverflowError) as exc:
            raise exceptions.NotFound() from exc
        body = s.SettleSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        settle = {
            "ours": reconcile_services.drift_push_ours,
            "aws": reconcile_services.drift_accept_aws,
        }[body.validated_data["side"]]
        settle(actor=request.user, obj=obj, ip=_ip(request))
        obj.refresh_from_db()
        return Response(s.DriftSerializer(drift_row(obj)).data)


@extend_schema_view(list=extend_schema(summary="Tiers whose usage plan differs in AWS"))
class TierDriftViewSet(DriftViewSet):
    queryset = Plan.objects.all()
    lookup_field = "slug"
    lookup_value_regex = r"[-a-zA-Z0-9_]+"
    ordering = ("name", "pk")
    ordering_fields = ["name", "pk"]


@extend_schema_view(list=extend_schema(summary="API keys that differ in AWS"))
class KeyDriftViewSet(DriftViewSet):
    queryset = ApiKey.objects.select_related("customer")
    lookup_field = "public_id"
    lookup_url_kwarg = "id"
    lookup_value_regex = UUID_RE
    ordering = ("-pk",)
    ordering_fields = ["pk"]


# --- me -----------------------------------------------------------------------------------------


class MeView(ETagMixin, APIView):
    audience = ANYONE

    @extend_schema(summary="Who you are to the API", responses=s.MeSerializer)
    def get(self, request: Request) -> Response:
        token = request.auth if isinstance(request.auth, PersonalAccessToken) else None
        customer = customer_of(request)
        return Response(
            s.MeSerializer(
                {
                    "email": request.user.email,  # type: ignore[union-attr]
                    "staff_role": request.user.staff_role,  # type: ignore[union-attr]
                    "customer": customer,
                    "authenticated_by": "token" if token else "session",
                    "token_scope": token.scope if token else None,
                }
            ).data
        )
