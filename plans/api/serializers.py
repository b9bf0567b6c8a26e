"""Shapes of the tier, stage and subscription requests and answers. Meaning is plans.services'."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from plans.methods import METHOD_FORMAT, MethodFormatError, method_label, parse_method
from plans.models import (
    MAX_QUOTA,
    MAX_TEXT,
    ApiStage,
    MethodThrottle,
    Plan,
    QuotaPeriod,
    Subscription,
    TierRequest,
)
from plans.services import PLAN_FIELDS
from portal.access import is_staff
from portal.connections.api import CopySerializer
from portal.rest.serializers import MAX_ID, SyncSerializer

# --- stages -------------------------------------------------------------------------------------


class StageSerializer(serializers.ModelSerializer[ApiStage]):
    ref = serializers.SerializerMethodField(help_text="How tiers.yaml names it: “API name/stage”.")
    account_id = serializers.CharField(
        read_only=True,
        help_text="The AWS account it is in (blank until its connection is checked).",
    )
    where = serializers.CharField(
        read_only=True, help_text="Its region, with the connection's name outside the default one."
    )

    class Meta:
        model = ApiStage
        fields = [
            "id",
            "ref",
            "region",
            "account_id",
            "where",
            "rest_api_id",
            "stage_name",
            "api_name",
            "description",
            "available",
            "last_seen_at",
            "missing_since",
        ]
        read_only_fields = fields

    def get_ref(self, stage: ApiStage) -> str:
        return f"{stage.api_name}/{stage.stage_name}"


class StageAvailabilitySerializer(serializers.Serializer[Any]):
    available = serializers.BooleanField(help_text="Whether tiers may cover this stage.")


class StageRefreshSerializer(serializers.Serializer[Any]):
    detail = serializers.CharField()
    requested_at = serializers.DateTimeField(
        allow_null=True, help_text="When a refresh was last asked for (kept for five minutes)."
    )


# --- tiers --------------------------------------------------------------------------------------


class MethodThrottleSerializer(serializers.ModelSerializer[MethodThrottle]):
    """One per-method throttle, as a tier has it (apiStages[].throttle["/path/METHOD"])."""

    method = serializers.SerializerMethodField(help_text="“GET /forecast”.")

    class Meta:
        model = MethodThrottle
        fields = ["stage", "method", "resource_path", "http_method", "rate", "burst"]
        read_only_fields = fields

    def get_method(self, throttle: MethodThrottle) -> str:
        return method_label(throttle.http_method, throttle.resource_path)


class MethodThrottleWriteSerializer(serializers.Serializer[Any]):
    """A per-method throttle to set: `method` (“GET /forecast”), or `resource_path` and
    `http_method` as GET returns them. The service (plans.services) gives the precise messages."""

    stage = serializers.PrimaryKeyRelatedField(
        queryset=ApiStage.objects.all(), help_text="A stage the tier covers."
    )
    method = serializers.CharField(max_length=270, required=False, help_text="“GET /forecast”.")
    resource_path = serializers.CharField(max_length=255, required=False)
    http_method = serializers.CharField(max_length=7, required=False)
    rate = serializers.DecimalField(max_digits=8, decimal_places=2)
    burst = serializers.IntegerField(min_value=0, max_value=MAX_QUOTA)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        errors: dict[str, list[str]] = {}
        # A PATCH makes every nested field optional in DRF; a row still needs all of them.
        for name in ("stage", "rate", "burst"):
            if attrs.get(name) is None:
                errors[name] = ["This field is required."]
        path, verb = attrs.get("resource_path"), attrs.get("http_method")
        method = attrs.get("method")
        if method is not None:
            try:
                parsed_verb, parsed_path = parse_method(method)
            except MethodFormatError as exc:
                errors["method"] = [exc.message]
            else:
                if (verb is not None and verb.strip().upper() != parsed_verb) or (
                    path is not None and path.strip() != parsed_path
                ):
                    errors["method"] = ["Does not match resource_path and http_method."]
                verb, path = parsed_verb, parsed_path
        elif path is None or verb is None:
            errors["method"] = [METHOD_FORMAT + " (or give resource_path and http_method)"]
        if errors:
            raise serializers.ValidationError(errors)
        return {
            "stage": attrs["stage"],
            "resource_path": path,
            "http_method": verb,
            "rate": attrs["rate"],
            "burst": attrs["burst"],
        }


class TierSerializer(serializers.ModelSerializer[Plan]):
    stages = serializers.PrimaryKeyRelatedField[ApiStage](many=True, read_only=True)
    method_throttles = MethodThrottleSerializer(many=True, read_only=True)
    sync = serializers.SerializerMethodField()
    aws_id = serializers.SerializerMethodField(
        help_text="The usage plan id in its first account and region (staff only)."
    )
    places = serializers.SerializerMethodField(
        help_text="One usage plan per account and region its stages are in; a quota is counted "
        "in each on its own (API Gateway meters quotas per usage plan)."
    )

    class Meta:
        model = Plan
        fields = [
            "id",
            "slug",
            *PLAN_FIELDS,  # `listed` among them
            "stages",
            "method_throttles",
            "archived_at",
            "created_at",
            "updated_at",
            "aws_id",
            "places",
            "sync",
        ]
        read_only_fields = fields

    @extend_schema_field(CopySerializer(many=True))
    def get_places(self, plan: Plan) -> list[dict[str, Any]]:
        copies = CopySerializer(plan.copies.all(), many=True, context={"staff": self._staff()})
        return list(copies.data)

    def _staff(self) -> bool:
        request = self.context.get("request")
        return request is not None and is_staff(request.user)

    @extend_schema_field(SyncSerializer(allow_null=True))
    def get_sync(self, plan: Plan) -> dict[str, Any] | None:
        return dict(SyncSerializer(plan).data) if self._staff() else None

    def get_aws_id(self, plan: Plan) -> str:
        return plan.aws_id if self._staff() else ""


class TierWriteSerializer(serializers.Serializer[Any]):
    """Limits follow API Gateway's; the service (plans.services) gives the precise messages."""

    name = serializers.CharField(max_length=64)
    description = serializers.CharField(max_length=500, required=False, allow_blank=True)
    self_serve = serializers.BooleanField(required=False)
    listed = serializers.BooleanField(
        required=False,
        help_text="Shown on the pricing page and to customers (default true). The default tier "
        "must be listed.",
    )
    is_default = serializers.BooleanField(required=False)
    throttle_rate = serializers.DecimalField(
        max_digits=8, decimal_places=2, allow_null=True, required=False
    )
    throttle_burst = serializers.IntegerField(
        allow_null=True, required=False, min_value=0, max_value=MAX_QUOTA
    )
    quota_limit = serializers.IntegerField(
        allow_null=True, required=False, min_value=0, max_value=MAX_QUOTA
    )
    quota_period = serializers.ChoiceField(
        choices=[("", "no quota"), *QuotaPeriod.choices], allow_null=True, required=False
    )
    quota_offset = serializers.IntegerField(
        allow_null=True, required=False, min_value=0, max_value=MAX_QUOTA
    )
    monthly_price = serializers.DecimalField(
        max_digits=9, decimal_places=2, allow_null=True, required=False
    )
    stages = serializers.PrimaryKeyRelatedField(
        many=True, queryset=ApiStage.objects.all(), required=False
    )
    method_throttles = MethodThrottleWriteSerializer(
        many=True,
        required=False,
        help_text="The tier's whole set of per-method throttles; left out of a PATCH, they stay.",
    )


# --- subscriptions ------------------------------------------------------------------------------


class SubscriptionSerializer(serializers.ModelSerializer[Subscription]):
    tier: serializers.SlugRelatedField[Plan] = serializers.SlugRelatedField(
        slug_field="slug", source="plan", read_only=True
    )

    class Meta:
        model = Subscription
        fields = ["id", "customer", "tier", "status", "started_at", "ended_at", "created_at"]
        read_only_fields = fields


class SwitchSerializer(serializers.Serializer[Any]):
    tier = serializers.SlugField(max_length=64, help_text="The slug of the tier to move to.")
    customer = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=MAX_ID,
        help_text="Staff only: the customer to move. Customers always move themselves.",
    )


# --- tier requests ------------------------------------------------------------------------------


class TierRequestSerializer(serializers.ModelSerializer[TierRequest]):
    tier: serializers.SlugRelatedField[Plan] = serializers.SlugRelatedField(
        slug_field="slug", source="plan", read_only=True
    )
    requested_by = serializers.SlugRelatedField[Any](slug_field="email", read_only=True)
    decided_by = serializers.SlugRelatedField[Any](slug_field="email", read_only=True)

    class Meta:
        model = TierRequest
        fields = [
            "id",
            "customer",
            "tier",
            "state",
            "message",
            "requested_by",
            "created_at",
            "decided_by",
            "decided_at",
            "reason",
        ]
        read_only_fields = fields


class TierRequestCreateSerializer(serializers.Serializer[Any]):
    tier = serializers.SlugField(max_length=64, help_text="The slug of an approval-only tier.")
    message = serializers.CharField(
        required=False,
        allow_blank=True,
        trim_whitespace=False,  # the service trims and gives the length's message
        help_text=f"For the admins: what it is for, the traffic you expect (up to {MAX_TEXT:,} "
        "characters).",
    )
    customer = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=MAX_ID,
        help_text="Staff only: the customer asking. Customers always ask for themselves.",
    )


class TierRequestRejectSerializer(serializers.Serializer[Any]):
    reason = serializers.CharField(
        required=False,
        allow_blank=True,
        trim_whitespace=False,
        help_text="Why (required; the customer reads it).",
    )
