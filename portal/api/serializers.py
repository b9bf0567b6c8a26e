"""Shapes of the API's requests and responses. Validation of meaning is the services' job."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from keys.models import ApiKey
from keys.services import secret_reveal_deadline
from plans.models import MAX_QUOTA, ApiStage, MethodThrottle, Plan, QuotaPeriod, Subscription
from plans.services import PLAN_FIELDS, active_subscription
from portal.api.permissions import is_staff
from portal.customers.models import Customer, Membership
from portal.sync import SyncStatus
from portal.usage.metrics import DEFAULT_RANGE as DEFAULT_METRIC_RANGE
from portal.usage.metrics import RANGES as METRIC_RANGES
from portal.usage.models import UsageDay

MAX_ID = 2**63 - 1


class ProblemSerializer(serializers.Serializer[Any]):
    """Every error: problem details (RFC 9457 in spirit), with field errors when there are any."""

    type = serializers.CharField(help_text="A stable code, e.g. validation_error, not_found.")
    title = serializers.CharField(help_text="The HTTP status in words.")
    detail = serializers.CharField(help_text="What went wrong, for a person.")
    errors = serializers.DictField(  # type: ignore[assignment]
        child=serializers.ListField(child=serializers.CharField()),
        help_text="Field name → messages; empty unless fields were wrong.",
    )


class SyncSerializer(serializers.Serializer[Any]):
    status = serializers.ChoiceField(choices=SyncStatus.choices, source="sync_status")
    error = serializers.CharField(source="sync_error")
    desired_version = serializers.IntegerField()
    synced_version = serializers.IntegerField()
    synced_at = serializers.DateTimeField(allow_null=True)


# --- stages -------------------------------------------------------------------------------------


class StageSerializer(serializers.ModelSerializer[ApiStage]):
    ref = serializers.SerializerMethodField(help_text="How tiers.yaml names it: “API name/stage”.")

    class Meta:
        model = ApiStage
        fields = [
            "id",
            "ref",
            "region",
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


# --- tiers --------------------------------------------------------------------------------------


METHOD_FORMAT = "Write the method as API Gateway does, e.g. “GET /forecast”."


class MethodThrottleSerializer(serializers.ModelSerializer[MethodThrottle]):
    """One per-method throttle, as a tier has it (apiStages[].throttle["/path/METHOD"])."""

    method = serializers.SerializerMethodField(help_text="“GET /forecast”.")

    class Meta:
        model = MethodThrottle
        fields = ["stage", "method", "resource_path", "http_method", "rate", "burst"]
        read_only_fields = fields

    def get_method(self, throttle: MethodThrottle) -> str:
        return f"{throttle.http_method} {throttle.resource_path}"


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
            parts = method.split()
            if len(parts) != 2:
                errors["method"] = [METHOD_FORMAT]
            elif (verb is not None and verb.strip().upper() != parts[0].upper()) or (
                path is not None and path.strip() != parts[1]
            ):
                errors["method"] = ["Does not match resource_path and http_method."]
            else:
                verb, path = parts
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
    aws_id = serializers.SerializerMethodField(help_text="The usage plan id (staff only).")

    class Meta:
        model = Plan
        fields = [
            "id",
            "slug",
            *PLAN_FIELDS,
            "stages",
            "method_throttles",
            "archived_at",
            "created_at",
            "updated_at",
            "aws_id",
            "sync",
        ]
        read_only_fields = fields

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


# --- customers, memberships, subscriptions -------------------------------------------------------


class CustomerSerializer(serializers.ModelSerializer[Customer]):
    tier = serializers.SerializerMethodField(help_text="The slug of the active tier, if any.")

    class Meta:
        model = Customer
        fields = ["id", "name", "slug", "tier", "created_at"]
        read_only_fields = fields

    def get_tier(self, customer: Customer) -> str | None:
        subscription = active_subscription(customer)
        return subscription.plan.slug if subscription else None


class MembershipSerializer(serializers.ModelSerializer[Membership]):
    email = serializers.EmailField(source="user.email", read_only=True)

    class Meta:
        model = Membership
        fields = ["id", "customer", "email", "role", "created_at"]
        read_only_fields = fields


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


# --- keys ---------------------------------------------------------------------------------------


class SecretState:
    PENDING = "pending"  # API Gateway has not issued it yet
    READY = "ready"  # the creator may reveal it, once
    SHOWN = "shown"  # revealed already; never again
    EXPIRED = "expired"  # the reveal window passed
    NOT_YOURS = "not_yours"  # only the key's creator may see it
    REVOKED = "revoked"

    choices = [PENDING, READY, SHOWN, EXPIRED, NOT_YOURS, REVOKED]


def secret_state(key: ApiKey, user: Any) -> str:
    from django.utils import timezone

    if key.is_revoked:
        return SecretState.REVOKED
    if key.secret_revealed_at is not None:
        return SecretState.SHOWN
    if key.created_by_id != getattr(user, "pk", None):
        return SecretState.NOT_YOURS
    if timezone.now() > secret_reveal_deadline(key):
        return SecretState.EXPIRED
    if not (key.aws_id and key.secret_sha256):
        return SecretState.PENDING
    return SecretState.READY


class KeySerializer(serializers.ModelSerializer[ApiKey]):
    id = serializers.UUIDField(source="public_id", read_only=True)
    prefix = serializers.CharField(
        source="display_prefix", read_only=True, help_text="Shown once issued, e.g. “a1b2c”."
    )
    state = serializers.CharField(source="state_label", read_only=True)
    secret = serializers.SerializerMethodField(
        help_text="Always null: API Gateway generates the secret after the key is created, and "
        "Tollgate never stores it. Its creator fetches it once with POST /api/v1/keys/{id}/reveal."
    )
    secret_state = serializers.SerializerMethodField(
        help_text="pending (not issued yet: poll), ready (reveal it now), shown, expired, "
        "not_yours (only the creator may reveal it) or revoked."
    )
    secret_reveal_deadline = serializers.SerializerMethodField()
    sync = serializers.SerializerMethodField()

    class Meta:
        model = ApiKey
        fields = [
            "id",
            "name",
            "customer",
            "prefix",
            "state",
            "enabled",
            "secret",
            "secret_state",
            "secret_reveal_deadline",
            "secret_revealed_at",
            "expires_at",
            "revoked_at",
            "created_at",
            "sync",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_secret(self, key: ApiKey) -> None:
        return None

    @extend_schema_field(serializers.ChoiceField(choices=SecretState.choices))
    def get_secret_state(self, key: ApiKey) -> str:
        request = self.context.get("request")
        return secret_state(key, request.user if request else None)

    @extend_schema_field(serializers.DateTimeField())
    def get_secret_reveal_deadline(self, key: ApiKey) -> str:
        return serializers.DateTimeField().to_representation(secret_reveal_deadline(key))

    @extend_schema_field(SyncSerializer)
    def get_sync(self, key: ApiKey) -> dict[str, Any]:
        return dict(SyncSerializer(key).data)


class KeyCreateSerializer(serializers.Serializer[Any]):
    name = serializers.CharField(max_length=200, allow_blank=True)
    customer = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=MAX_ID,
        help_text="Staff only: whose key it is. Customers always create keys for themselves.",
    )


class KeyUpdateSerializer(serializers.Serializer[Any]):
    name = serializers.CharField(max_length=200, allow_blank=True, required=False)
    enabled = serializers.BooleanField(
        required=False, help_text="false: API Gateway refuses the key until it is enabled again."
    )


class RevealedSecretSerializer(serializers.Serializer[Any]):
    id = serializers.UUIDField()
    prefix = serializers.CharField()
    secret = serializers.CharField(help_text="Send it in the x-api-key header. Shown only now.")
    invoke_urls = serializers.ListField(child=serializers.CharField())


# --- usage --------------------------------------------------------------------------------------


class UsageDaySerializer(serializers.ModelSerializer[UsageDay]):
    key = serializers.UUIDField(source="key.public_id", read_only=True)
    key_name = serializers.CharField(source="key.name", read_only=True)
    tier = serializers.CharField(source="plan.slug", read_only=True)

    class Meta:
        model = UsageDay
        fields = ["key", "key_name", "tier", "date", "used", "remaining"]
        read_only_fields = fields


class KeyUsageSerializer(serializers.Serializer[Any]):
    key = serializers.UUIDField()
    name = serializers.CharField()
    used = serializers.IntegerField()
    remaining = serializers.IntegerField(
        allow_null=True, help_text="Quota left this period, as API Gateway last reported it."
    )


class UsageSummarySerializer(serializers.Serializer[Any]):
    customer = serializers.IntegerField()
    customer_name = serializers.CharField()
    tier = serializers.CharField(allow_null=True)
    quota_limit = serializers.IntegerField(allow_null=True, help_text="Per key, per period.")
    quota_period = serializers.CharField(allow_null=True)
    period_start = serializers.DateField()
    period_end = serializers.DateField()
    used = serializers.IntegerField(help_text="All the customer's keys, this period.")
    keys = KeyUsageSerializer(many=True)


# --- metrics (ops) ------------------------------------------------------------------------------


class MetricsQuerySerializer(serializers.Serializer[Any]):
    """The query of GET /api/v1/metrics: the same choices as the ops metrics page."""

    range = serializers.ChoiceField(
        choices=list(METRIC_RANGES),
        default=DEFAULT_METRIC_RANGE,
        required=False,
        help_text="3h: one point a minute; 24h: every 5 minutes; 7d and 30d: every hour.",
        error_messages={
            "invalid_choice": "“{input}” is not a range; use one of "
            + ", ".join(METRIC_RANGES)
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


class MetricsStageSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    ref = serializers.CharField(help_text="“API name/stage”.")
    region = serializers.CharField()
    api_name = serializers.CharField()
    stage_name = serializers.CharField()


class MetricsSerializer(serializers.Serializer[Any]):
    range = serializers.ChoiceField(choices=list(METRIC_RANGES))
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


# --- sync ---------------------------------------------------------------------------------------


class StatusCountsSerializer(serializers.Serializer[Any]):
    pending = serializers.IntegerField()
    synced = serializers.IntegerField()
    failed = serializers.IntegerField()
    drifted = serializers.IntegerField()


class ReconcileRunSerializer(serializers.Serializer[Any]):
    started_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)
    summary = serializers.DictField(child=serializers.IntegerField())
    error = serializers.CharField()


class SyncStatusSerializer(serializers.Serializer[Any]):
    tiers = StatusCountsSerializer()
    keys = StatusCountsSerializer()
    last_reconcile = ReconcileRunSerializer(allow_null=True)


class DifferenceSerializer(serializers.Serializer[Any]):
    field = serializers.CharField()
    ours = serializers.CharField()
    aws = serializers.CharField()


class DriftSerializer(serializers.Serializer[Any]):
    kind = serializers.ChoiceField(choices=["tier", "key"])
    id = serializers.CharField(help_text="The tier's slug or the key's id.")
    name = serializers.CharField()
    customer = serializers.IntegerField(allow_null=True)
    detected_at = serializers.CharField(allow_null=True)
    differences = DifferenceSerializer(many=True)
    can_accept_aws = serializers.BooleanField()
    deleted_in_aws = serializers.BooleanField()


class DriftSummarySerializer(serializers.Serializer[Any]):
    tiers = serializers.IntegerField(help_text="Drifted tiers.")
    keys = serializers.IntegerField(help_text="Drifted keys.")
    tiers_url = serializers.URLField()
    keys_url = serializers.URLField()


class SettleSerializer(serializers.Serializer[Any]):
    side = serializers.ChoiceField(
        choices=[("ours", "push Tollgate's values to AWS"), ("aws", "accept AWS's values")]
    )


# --- me -----------------------------------------------------------------------------------------


class MeSerializer(serializers.Serializer[Any]):
    email = serializers.EmailField()
    staff_role = serializers.CharField(help_text="admin, ops, or empty for a customer.")
    customer = CustomerSerializer(allow_null=True)
    authenticated_by = serializers.ChoiceField(choices=["session", "token"])
    token_scope = serializers.CharField(allow_null=True)


def reveal_window_hours() -> int:
    return int(settings.TOLLGATE["SECRET_REVEAL_WINDOW_HOURS"])
