"""Usage over REST: metered days, the per-customer summary, the ops metrics and extra quota —
the same selectors and service as the usage pages, the metrics page and the grant-quota form."""

from __future__ import annotations

from typing import Any

import django_filters
from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import exceptions, mixins, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from keys.models import ApiKey
from plans.api.filters import CustomerFilter
from plans.models import MAX_QUOTA
from plans.selectors import active_subscription
from portal.customers.models import Customer
from portal.errors import PermanentSyncError, TransientSyncError
from portal.rest.errors import ServiceUnavailable
from portal.rest.filters import IdFilter
from portal.rest.pagination import CustomerUsageCursor
from portal.rest.permissions import STAFF
from portal.rest.serializers import MAX_ID, ProblemSerializer
from portal.rest.viewsets import ETagMixin, ScopedViewSet, request_ip
from portal.usage import metrics as usage_metrics
from portal.usage.models import UsageDay
from portal.usage.periods import resets_at
from portal.usage.quota import grant_extra_quota
from portal.usage.selectors import usage_totals
from portal.usage.serializers import UsageSummarySerializer

# --- usage days ---------------------------------------------------------------------------------


class UsageDaySerializer(serializers.ModelSerializer[UsageDay]):
    key = serializers.UUIDField(source="key.public_id", read_only=True)
    key_name = serializers.CharField(source="key.name", read_only=True)
    tier = serializers.CharField(source="plan.slug", read_only=True)

    class Meta:
        model = UsageDay
        fields = ["key", "key_name", "tier", "date", "region", "used", "remaining"]
        read_only_fields = fields


class UsageDayFilter(django_filters.FilterSet):
    key = django_filters.UUIDFilter(field_name="key__public_id")
    customer = IdFilter(field_name="key__customer_id")
    tier = django_filters.CharFilter(field_name="plan__slug")
    region = django_filters.CharFilter(field_name="region")

    class Meta:
        model = UsageDay
        fields = ["key", "customer", "tier", "region"]


# `from` and `to` are the query parameters' names; `from` cannot be a class attribute.
UsageDayFilter.base_filters["from"] = django_filters.DateFilter(
    field_name="date", lookup_expr="gte", label="First day (UTC), inclusive"
)
UsageDayFilter.base_filters["to"] = django_filters.DateFilter(
    field_name="date", lookup_expr="lte", label="Last day (UTC), inclusive"
)


@extend_schema_view(
    list=extend_schema(
        summary="Requests per key per UTC day, as API Gateway metered them (GetUsage)",
        description="Filter with `key` (a key id), `from` and `to` (inclusive dates) and "
        "`region`. One row per key, day and account and region the key's tier covers (API "
        "Gateway meters each apart); days without a request have no row.",
    )
)
class UsageDayViewSet(mixins.ListModelMixin, ScopedViewSet):
    queryset = UsageDay.objects.select_related("key", "plan")  # scoped by key__customer
    serializer_class = UsageDaySerializer
    filterset_class = UsageDayFilter
    # Newest day first, a key's places together: the (date, key) index's order read backwards,
    # so the first page reads 51 rows, not a day's 100,000 sorted by id.
    ordering = ("-date", "-key_id", "-pk")
    ordering_fields = ["date", "pk"]


# --- the summary --------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(
        summary="Usage per customer in the current quota period",
        description="Per key (API Gateway counts quotas per key): used this period and the "
        "quota left. A tier without a quota is summed over the calendar month (UTC). 20 "
        "customers a page, each with all its keys (`?limit=` up to 200).",
        responses=UsageSummarySerializer(many=True),
    )
)
class UsageSummaryViewSet(mixins.ListModelMixin, ScopedViewSet):
    queryset = Customer.objects.all()  # scoped to the person's own organisation (customer_path)
    serializer_class = UsageSummarySerializer
    filterset_class = CustomerFilter
    pagination_class = CustomerUsageCursor
    ordering = ("name", "pk")
    ordering_fields = ["name", "pk"]

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        assert page is not None
        usage = usage_totals(page, timezone.now().date())  # three queries for the whole page
        return self.get_paginated_response(UsageSummarySerializer(usage, many=True).data)


# --- metrics (staff) ----------------------------------------------------------------------------


class MetricsQuerySerializer(serializers.Serializer[Any]):
    """The query of GET /api/v1/metrics: the same choices as the ops metrics page."""

    range = serializers.ChoiceField(
        choices=list(usage_metrics.RANGES),
        default=usage_metrics.DEFAULT_RANGE,
        required=False,
        help_text="3h: one point a minute; 24h: every 5 minutes; 7d and 30d: every hour.",
        error_messages={
            "invalid_choice": "“{input}” is not a range; use one of "
            + ", ".join(usage_metrics.RANGES)
            + "."
        },
    )
    stage = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=MAX_ID,
        help_text="A stage id from /api/v1/stages that is offered to tiers; default: the first.",
    )


class MetricPointSerializer(serializers.Serializer[Any]):
    """One period; null where CloudWatch has no datapoint."""

    at = serializers.DateTimeField(help_text="Start of the period (UTC).")
    count = serializers.FloatField(allow_null=True, help_text="Requests (Count, Sum).")
    e4xx = serializers.FloatField(allow_null=True, help_text="4XXError (Sum); 429s included.")
    e5xx = serializers.FloatField(allow_null=True, help_text="5XXError (Sum).")
    rate_4xx = serializers.FloatField(allow_null=True, help_text="4XX as % of requests.")
    rate_5xx = serializers.FloatField(allow_null=True, help_text="5XX as % of requests.")
    lat_p50 = serializers.FloatField(allow_null=True, help_text="Latency p50 (ms).")
    lat_p90 = serializers.FloatField(allow_null=True, help_text="Latency p90 (ms).")
    lat_p99 = serializers.FloatField(allow_null=True, help_text="Latency p99 (ms).")
    lat_avg = serializers.FloatField(allow_null=True, help_text="Latency average (ms).")
    int_p50 = serializers.FloatField(allow_null=True, help_text="IntegrationLatency p50 (ms).")
    int_p90 = serializers.FloatField(allow_null=True, help_text="IntegrationLatency p90 (ms).")
    int_p99 = serializers.FloatField(allow_null=True, help_text="IntegrationLatency p99 (ms).")
    int_avg = serializers.FloatField(allow_null=True, help_text="IntegrationLatency avg (ms).")


class MetricTotalsSerializer(serializers.Serializer[Any]):
    requests = serializers.IntegerField()
    errors_4xx = serializers.IntegerField()
    errors_5xx = serializers.IntegerField()


class PlaceTotalsSerializer(serializers.Serializer[Any]):
    where = serializers.CharField(help_text="“eu-west-1”, or “Partner · us-east-1”.")
    stages = serializers.IntegerField(help_text="Stages offered to tiers there.")
    requests = serializers.IntegerField()
    errors_4xx = serializers.IntegerField()
    errors_5xx = serializers.IntegerField()


class MetricsStageSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField(source="pk")
    ref = serializers.SerializerMethodField(help_text="“API name/stage”.")
    region = serializers.CharField()
    where = serializers.CharField(
        help_text="Its region, with the connection's name outside the default."
    )
    api_name = serializers.CharField()
    stage_name = serializers.CharField()

    def get_ref(self, stage: Any) -> str:
        return f"{stage.api_name}/{stage.stage_name}"


class MetricsSerializer(serializers.Serializer[Any]):
    range = serializers.ChoiceField(choices=list(usage_metrics.RANGES))
    range_label = serializers.CharField()
    period = serializers.IntegerField(help_text="Seconds per point.")
    start = serializers.DateTimeField(allow_null=True)
    end = serializers.DateTimeField(allow_null=True, help_text="Includes the current period.")
    stage = MetricsStageSerializer(
        allow_null=True, help_text="The stage shown; null when no stage is offered to tiers."
    )
    stages = serializers.ListField(
        child=serializers.IntegerField(), help_text="Every stage id that can be chosen."
    )
    fetched_at = serializers.DateTimeField(
        help_text="When CloudWatch was read; answers are shared for up to 60 s."
    )
    totals = MetricTotalsSerializer(allow_null=True)
    points = MetricPointSerializer(many=True)
    regions = PlaceTotalsSerializer(
        many=True,
        help_text="Every offered stage's requests and errors over the range, per account and "
        "region (CloudWatch reads each apart); empty while CloudWatch has not answered.",
    )


CLOUDWATCH_DOWN = {
    "type": "service_unavailable",
    "title": "Service unavailable",
    "detail": "CloudWatch did not answer: AWS answered InternalFailure (GetMetricData)",
    "errors": {},
}


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
        parameters=[MetricsQuerySerializer],
        responses={
            200: MetricsSerializer,
            503: OpenApiResponse(
                ProblemSerializer,
                description="CloudWatch did not answer; `Retry-After` says when to try again.",
                examples=[OpenApiExample("CloudWatch down", value=CLOUDWATCH_DOWN)],
            ),
        },
    )
    def get(self, request: Request) -> Response:
        query = MetricsQuerySerializer(data=request.query_params)
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
        wait = usage_metrics.ERROR_CACHE_SECONDS
        every = usage_metrics.stage_dims(stages)
        try:
            fetched = usage_metrics.fetch_api_metrics(every, chosen)
        except (TransientSyncError, PermanentSyncError) as exc:  # portal.aws speaks only these
            raise ServiceUnavailable(f"CloudWatch did not answer: {exc}", wait=wait) from exc
        if fetched.error:
            raise ServiceUnavailable(fetched.error, wait=wait)
        shown = None
        if fetched.metrics is not None and selected is not None:
            shown = usage_metrics.stage_metrics(fetched.metrics, usage_metrics.dims(selected))
        body = {
            "range": chosen.key,
            "range_label": chosen.label,
            "period": chosen.period,
            "start": fetched.metrics.start if fetched.metrics else None,
            "end": fetched.metrics.end if fetched.metrics else None,
            "stage": selected,
            "stages": [stage.pk for stage in stages],
            "fetched_at": fetched.fetched_at,
            "totals": shown,
            "points": shown.rows if shown else [],
            "regions": usage_metrics.place_totals(fetched.metrics, every)
            if fetched.metrics is not None
            else [],
        }
        return Response(MetricsSerializer(body).data)


# --- extra quota (admin) ------------------------------------------------------------------------


class ExtraQuotaSerializer(serializers.Serializer[Any]):
    requests = serializers.IntegerField(
        min_value=1,
        max_value=MAX_QUOTA,
        help_text="How many more requests the key may make in the current quota period.",
    )


class ExtraQuotaGrantedSerializer(serializers.Serializer[Any]):
    key = serializers.UUIDField()
    extra = serializers.IntegerField(help_text="Granted now.")
    remaining = serializers.IntegerField(help_text="What the key may still make this period.")
    resets_at = serializers.DateTimeField(
        allow_null=True, help_text="When the quota period ends and the extra quota with it."
    )


class ExtraQuotaView(APIView):
    """The console's grant-quota form (customer usage page) for one key: UpdateUsage in AWS."""

    audience = STAFF  # ops read and never write: an admin grants

    @extend_schema(
        summary="Grant a key extra quota for the current period (admin)",
        description="The console's “Grant extra quota” (portal.usage.quota."
        "grant_extra_quota): API Gateway's UpdateUsage raises what the key may make until its "
        "quota resets; audited as `key.quota_extended`. A key whose tier has no quota, a key "
        "not in API Gateway (yet), a revoked key or an AWS refusal is a **400** that says so, "
        "and nothing changes.",
        request=ExtraQuotaSerializer,
        responses={200: ExtraQuotaGrantedSerializer},
        examples=[
            OpenApiExample("5,000 more", value={"requests": 5000}, request_only=True),
            OpenApiExample(
                "Granted",
                value={
                    "key": "0b8e8d7e-5a38-4a8e-9a55-3f0f2b7c9a11",
                    "extra": 5000,
                    "remaining": 104700,
                    "resets_at": "2025-07-01T00:00:00Z",
                },
                response_only=True,
            ),
        ],
    )
    def post(self, request: Request, id: str) -> Response:
        key = get_object_or_404(ApiKey.objects.select_related("customer"), public_id=id)
        body = ExtraQuotaSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        extra = body.validated_data["requests"]
        remaining = grant_extra_quota(
            actor=request.user, key=key, extra=extra, ip=request_ip(request)
        )
        subscription = active_subscription(key.customer)
        period = subscription.plan.quota_period if subscription else ""
        granted = {
            "key": key.public_id,
            "extra": extra,
            "remaining": remaining,
            "resets_at": resets_at(period, timezone.now().date()) if period else None,
        }
        return Response(ExtraQuotaGrantedSerializer(granted).data)
