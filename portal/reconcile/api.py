"""Sync health, drift and adoption over REST: the drift page's and the import page's selectors
and services (portal.reconcile.selectors, .services, .adoption)."""

from __future__ import annotations

from typing import Any, ClassVar

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import exceptions, mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from keys.models import ApiKey
from plans.models import Plan, PlanCopy
from portal.customers.models import Customer
from portal.reconcile import selectors
from portal.reconcile.adoption import adopt_usage_plan
from portal.reconcile.drift import drift_accept_aws, drift_push_ours
from portal.reconcile.selectors import DriftRow, drift_row, latest_run
from portal.reconcile.services import reconcile_requested
from portal.rest.permissions import STAFF
from portal.rest.serializers import MAX_ID
from portal.rest.viewsets import SLUG_RE, UUID_RE, ETagMixin, ScopedViewSet, request_ip
from portal.sync import SyncState

AWS_ID_RE = r"[A-Za-z0-9]+"  # an API Gateway id (a usage plan's): letters and digits

# --- sync status --------------------------------------------------------------------------------


class StatusCountsSerializer(serializers.Serializer[Any]):
    pending = serializers.IntegerField()
    synced = serializers.IntegerField()
    failed = serializers.IntegerField()
    drifted = serializers.IntegerField()


class PlaceFiguresSerializer(serializers.Serializer[Any]):
    """One account and region in a reconcile (portal.reconcile.report.PlaceFigures)."""

    plans = serializers.IntegerField(help_text="Usage plans AWS listed there.")
    keys = serializers.IntegerField(help_text="API keys AWS listed there.")
    calls = serializers.IntegerField(help_text="AWS read calls the pass made there.")
    in_sync = serializers.IntegerField(help_text="Copies of tiers and keys equal to Tollgate's.")
    drifted = serializers.IntegerField(help_text="Copies that differ from Tollgate's.")
    missing = serializers.IntegerField(help_text="Copies not (or no longer) in AWS there.")
    error = serializers.CharField(
        allow_blank=True, help_text="Why the place could not be compared; blank if it was."
    )


class ReconcileRunSerializer(serializers.Serializer[Any]):
    started_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)
    summary = serializers.DictField(child=serializers.IntegerField())
    places = serializers.DictField(
        child=PlaceFiguresSerializer(),
        help_text='By place: "eu-west-1" (the default connection) or "Partner · us-east-1".',
    )
    error = serializers.CharField()


class SyncStatusSerializer(serializers.Serializer[Any]):
    tiers = StatusCountsSerializer()
    keys = StatusCountsSerializer()
    last_reconcile = ReconcileRunSerializer(allow_null=True)


class SyncStatusView(ETagMixin, APIView):
    audience = STAFF

    @extend_schema(
        summary="Sync health: tiers and keys by sync status, and the last reconcile",
        responses=SyncStatusSerializer,
    )
    def get(self, request: Request) -> Response:
        return Response(SyncStatusSerializer(selectors.sync_health()).data)


class ReconcileRequestedSerializer(serializers.Serializer[Any]):
    detail = serializers.CharField()
    status_url = serializers.URLField(help_text="Where the finished run shows: GET sync/status.")


class ReconcileView(APIView):
    audience = STAFF  # ops read; an admin asks

    @extend_schema(
        summary="Compare Tollgate with API Gateway now (admin)",
        description="The drift page's “Reconcile now”: a task compares every tier and key with "
        "AWS shortly after, instead of at the next scheduled run. Answers 202 at once; the "
        "finished run shows in `GET /api/v1/sync/status` (`last_reconcile`), what it found in "
        "`sync/drift` and `sync/foreign-usage-plans`.",
        request=None,
        responses={
            202: OpenApiResponse(
                ReconcileRequestedSerializer,
                examples=[
                    OpenApiExample(
                        "Asked",
                        value={
                            "detail": "Comparing Tollgate with API Gateway.",
                            "status_url": "https://tollgate.example/api/v1/sync/status",
                        },
                    )
                ],
            )
        },
    )
    def post(self, request: Request) -> Response:
        reconcile_requested(actor=request.user, ip=request_ip(request))
        body = {
            "detail": "Comparing Tollgate with API Gateway.",
            "status_url": request.build_absolute_uri("/api/v1/sync/status"),
        }
        return Response(ReconcileRequestedSerializer(body).data, status=status.HTTP_202_ACCEPTED)


# --- drift --------------------------------------------------------------------------------------


class DifferenceSerializer(serializers.Serializer[Any]):
    field = serializers.SerializerMethodField()
    ours = serializers.SerializerMethodField()
    aws = serializers.SerializerMethodField()
    where = serializers.SerializerMethodField(
        help_text="The account and region it differs in; blank in a drift found before "
        "Tollgate kept a copy per region."
    )

    def get_field(self, difference: dict[str, Any]) -> str:
        return str(difference.get("field"))

    def get_ours(self, difference: dict[str, Any]) -> str:
        return str(difference.get("ours"))

    def get_aws(self, difference: dict[str, Any]) -> str:
        return str(difference.get("aws"))

    def get_where(self, difference: dict[str, Any]) -> str:
        return str(difference.get("where") or "")


class DriftPlaceSerializer(serializers.Serializer[Any]):
    """One account and region where a tier's usage plan or a key's copy differs."""

    where = serializers.CharField(allow_blank=True)
    region = serializers.CharField(allow_blank=True)
    connection = serializers.IntegerField(source="connection_id", allow_null=True)
    differences = DifferenceSerializer(many=True)


class DriftSerializer(serializers.Serializer[Any]):
    """portal.reconcile.selectors.DriftRow."""

    kind = serializers.ChoiceField(choices=["tier", "key"])
    id = serializers.CharField(source="ident", help_text="The tier's slug or the key's id.")
    name = serializers.CharField(source="obj")
    customer = serializers.IntegerField(source="customer_id", allow_null=True)
    detected_at = serializers.CharField(allow_null=True)
    differences = DifferenceSerializer(many=True)
    places = DriftPlaceSerializer(many=True)
    can_accept_aws = serializers.BooleanField(source="can_accept")
    deleted_in_aws = serializers.BooleanField(
        source="deleted", help_text="Deleted in AWS in every place it was in."
    )
    several_places = serializers.BooleanField(
        source="several",
        help_text="It has copies in several accounts or regions: either side of a settlement "
        "reaches them all (AWS's values become Tollgate's, then sync to the other places).",
    )


class DriftSummarySerializer(serializers.Serializer[Any]):
    tiers = serializers.IntegerField(help_text="Drifted tiers.")
    keys = serializers.IntegerField(help_text="Drifted keys.")
    tiers_url = serializers.URLField()
    keys_url = serializers.URLField()


class SettleSerializer(serializers.Serializer[Any]):
    side = serializers.ChoiceField(
        choices=[("ours", "push Tollgate's values to AWS"), ("aws", "accept AWS's values")]
    )


class DriftSummaryView(ETagMixin, APIView):
    audience = STAFF

    @extend_schema(
        summary="How many tiers and keys differ in AWS, and where to list them",
        responses=DriftSummarySerializer,
    )
    def get(self, request: Request) -> Response:
        body = {
            **selectors.drift_counts(),
            "tiers_url": request.build_absolute_uri("/api/v1/sync/drift/tiers"),
            "keys_url": request.build_absolute_uri("/api/v1/sync/drift/keys"),
        }
        return Response(DriftSummarySerializer(body).data)


class DriftViewSet(mixins.ListModelMixin, ScopedViewSet):
    """What the reconciler found changed in AWS; an admin settles each: push ours, or accept AWS."""

    audience = STAFF
    serializer_class = DriftSerializer
    filterset_class = None
    synced: ClassVar[type[SyncState]]  # the model a drift is settled on, drifted or not

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        assert page is not None
        rows: list[DriftRow] = [drift_row(obj) for obj in page]
        return self.get_paginated_response(DriftSerializer(rows, many=True).data)

    @extend_schema(
        summary="Settle a drift (admin): `ours` pushes Tollgate's values, `aws` accepts AWS's",
        request=SettleSerializer,
        responses=DriftSerializer,
        examples=[OpenApiExample("Push ours", value={"side": "ours"}, request_only=True)],
    )
    @action(detail=True, methods=["post"])
    def settle(self, request: Request, **kwargs: Any) -> Response:
        # Any tier or key, drifted or not: the service says when there is nothing to settle.
        model = self.synced
        lookup = {self.lookup_field: self.kwargs[self.lookup_url_kwarg or self.lookup_field]}
        try:
            obj = get_object_or_404(model._default_manager.all(), **lookup)
        except (ValueError, OverflowError) as exc:
            raise exceptions.NotFound() from exc
        body = SettleSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        settle = {"ours": drift_push_ours, "aws": drift_accept_aws}[body.validated_data["side"]]
        settle(actor=request.user, obj=obj, ip=request_ip(request))
        obj.refresh_from_db()
        return Response(DriftSerializer(drift_row(obj)).data)


@extend_schema_view(list=extend_schema(summary="Tiers whose usage plan differs in AWS"))
class TierDriftViewSet(DriftViewSet):
    queryset = selectors.drifted_tiers()
    synced = Plan
    lookup_field = "slug"
    lookup_value_regex = SLUG_RE
    ordering = ("name", "pk")
    ordering_fields = ["name", "pk"]


@extend_schema_view(list=extend_schema(summary="API keys that differ in AWS"))
class KeyDriftViewSet(DriftViewSet):
    queryset = selectors.drifted_keys()
    synced = ApiKey
    lookup_field = "public_id"
    lookup_url_kwarg = "id"
    lookup_value_regex = UUID_RE
    ordering = ("-pk",)
    ordering_fields = ["pk"]


# --- usage plans made outside Tollgate ----------------------------------------------------------


class ForeignUsagePlanSerializer(serializers.Serializer[Any]):
    id = serializers.CharField(help_text="The usage plan's id in AWS.")
    name = serializers.CharField()
    description = serializers.CharField(allow_blank=True)
    where = serializers.CharField(
        default="",
        help_text='The account and region it is in ("eu-west-1", "Partner · us-east-1").',
    )
    region = serializers.CharField(default="")
    connection = serializers.IntegerField(source="connection_id", default=None, allow_null=True)
    tier = serializers.CharField(
        allow_null=True, help_text="The tier it became, if it was adopted since the last run."
    )


class ForeignUsagePlansSerializer(serializers.Serializer[Any]):
    found_at = serializers.DateTimeField(
        allow_null=True, help_text="When the last reconcile finished; null before the first."
    )
    results = ForeignUsagePlanSerializer(many=True)


class AdoptSerializer(serializers.Serializer[Any]):
    customer = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=MAX_ID,
        help_text="The customer the plan's keys go to (one that is on no tier yet) …",
    )
    new_customer = serializers.CharField(
        max_length=100,
        required=False,
        allow_blank=True,
        help_text="… or the name of a new customer to create for them.",
    )
    tier_name = serializers.CharField(
        max_length=64,
        required=False,
        allow_blank=True,
        help_text="The tier's name; default: the usage plan's.",
    )
    region = serializers.CharField(
        max_length=32,
        required=False,
        allow_blank=True,
        help_text="The region the usage plan is in, with `connection` (as listed); default: "
        "where the last reconcile found it.",
    )
    connection = serializers.IntegerField(required=False, allow_null=True, min_value=1)


class AdoptedSerializer(serializers.Serializer[Any]):
    tier = serializers.CharField(source="plan.slug", help_text="The new tier's slug (unlisted).")
    customer = serializers.IntegerField(source="customer.pk")
    customer_name = serializers.CharField(source="customer.name")
    keys_imported = serializers.IntegerField()


class ForeignUsagePlanListView(ETagMixin, APIView):
    audience = STAFF

    @extend_schema(
        summary="Usage plans in AWS that Tollgate did not create, found by the last reconcile",
        description="The console's import page: each can be adopted with POST …/{id}/adopt.",
        responses=ForeignUsagePlansSerializer,
    )
    def get(self, request: Request) -> Response:
        run = latest_run()
        found = list(run.foreign_usage_plans) if run else []
        ids = [p.get("id") for p in found]
        adopted = dict(Plan.objects.filter(aws_id__in=ids).values_list("aws_id", "slug"))
        adopted.update(PlanCopy.objects.filter(aws_id__in=ids).values_list("aws_id", "plan__slug"))
        body = {
            "found_at": run.finished_at if run else None,
            "results": [{**p, "tier": adopted.get(p.get("id"))} for p in found],
        }
        return Response(ForeignUsagePlansSerializer(body).data)


class AdoptUsagePlanView(APIView):
    audience = STAFF  # ops read; an admin adopts

    @extend_schema(
        summary="Adopt a usage plan made outside Tollgate (admin)",
        description="The import page's “Import”: the usage plan becomes an unlisted, "
        "approval-only tier (publish it later with PATCH tiers/{slug} `listed`), and its API "
        "keys the keys of one customer placed on that tier — an existing customer on no tier "
        "(`customer`) or a new one (`new_customer`). Their secrets are not copied and can "
        "never be revealed through Tollgate. Answers **201**; a refusal (the plan is already a "
        "tier or is Tollgate's own, AWS no longer has it, the customer is on a tier, a name "
        "is taken) is a **400** and changes nothing.",
        request=AdoptSerializer,
        responses={201: AdoptedSerializer},
        examples=[
            OpenApiExample(
                "To a new customer",
                value={"new_customer": "Initech", "tier_name": "Initech legacy"},
                request_only=True,
            ),
            OpenApiExample(
                "Adopted",
                value={
                    "tier": "initech-legacy",
                    "customer": 7,
                    "customer_name": "Initech",
                    "keys_imported": 3,
                },
                response_only=True,
            ),
        ],
    )
    def post(self, request: Request, aws_id: str) -> Response:
        body = AdoptSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        customer = None
        if body.validated_data.get("customer") is not None:
            customer = Customer.objects.filter(pk=body.validated_data["customer"]).first()
            if customer is None:
                raise exceptions.ValidationError({"customer": ["No such customer."]})
        region = body.validated_data.get("region", "").strip()
        result = adopt_usage_plan(
            actor=request.user,
            aws_plan_id=aws_id,
            customer=customer,
            new_customer_name="" if customer else body.validated_data.get("new_customer", ""),
            tier_name=body.validated_data.get("tier_name", ""),
            where=(body.validated_data.get("connection"), region) if region else None,
            ip=request_ip(request),
        )
        return Response(AdoptedSerializer(result).data, status=status.HTTP_201_CREATED)
