"""Stages, tiers (usage plans) and their per-method throttles."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from portal.connections.models import where_of
from portal.sync import SyncState
from portal.wording import quota_in_words, rate_in_words, throttle_in_words

# API Gateway's own limits: https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html
# A usage plan's throttle cannot exceed the account-level throttle (10,000 req/s, burst 5,000 by
# default); quotas are 32-bit integers. A quota's offset is "the number of requests subtracted
# from the given limit in the initial time period" (API reference, QuotaSettings) — older SDK
# docs called it a start day, which the API no longer says.
MAX_RATE = Decimal("10000")
MAX_BURST = 5000
MAX_QUOTA = 2_147_483_647
# A tier's throttle and a method's alike.
RATE_LIMITS = [
    MinValueValidator(Decimal("0.01"), "The rate must be above 0 requests per second."),
    MaxValueValidator(
        MAX_RATE, "API Gateway allows at most 10,000 requests per second per account."
    ),
]
BURST_LIMITS = [
    MinValueValidator(1, "The burst must be at least 1 request."),
    MaxValueValidator(MAX_BURST, "API Gateway allows a burst of at most 5,000 requests."),
]


class ApiStage(models.Model):
    """A deployed REST API stage, discovered from AWS; an admin chooses which tiers may cover."""

    connection = models.ForeignKey(
        "connections.AwsConnection",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="stages",
        help_text="The AWS connection (account) discovery found it through; blank: the "
        "default connection (a stage found before connections existed).",
    )
    region = models.CharField(max_length=32)
    rest_api_id = models.CharField(max_length=32)
    stage_name = models.CharField(max_length=128)
    api_name = models.CharField(max_length=255, help_text="CloudWatch's ApiName dimension.")
    description = models.TextField(blank=True)
    deployment_id = models.CharField(max_length=32, blank=True)
    available = models.BooleanField(
        default=False, help_text="Chosen by an admin: tiers may cover this stage."
    )
    discovered_at = models.DateTimeField(auto_now_add=True)
    last_seen_at = models.DateTimeField(null=True, blank=True)
    missing_since = models.DateTimeField(
        null=True, blank=True, help_text="Set when the last discovery no longer found it in AWS."
    )
    operations = models.JSONField(
        null=True,
        blank=True,
        help_text='"GET /forecast" for each method of the newest exported OpenAPI document '
        "(recorded by the catalog); empty until one is exported.",
    )
    key_operations = models.JSONField(
        null=True,
        blank=True,
        help_text="Each method that needs an API key, as a call with its required query "
        'parameters ("GET /cities", "GET /forecast?city=CITY"), from the same document; '
        "plans.calls picks the one ready-made examples use.",
    )
    custom_domain = models.CharField(
        max_length=253,
        blank=True,
        help_text="The custom domain name customers call the stage at (GetDomainNames and "
        "GetBasePathMappings, read by discovery); blank: its execute-api address.",
    )
    custom_domain_path = models.CharField(
        max_length=255,
        blank=True,
        help_text='What follows the custom domain: the base path ("v1"), with the stage name '
        "after it for a mapping without a stage; blank at the domain's root.",
    )

    class Meta:
        ordering = ["api_name", "stage_name"]
        constraints = [
            models.UniqueConstraint(
                fields=["connection", "region", "rest_api_id", "stage_name"],
                name="one_row_per_stage",
            )
        ]

    def __str__(self) -> str:
        return f"{self.api_name} / {self.stage_name}"

    @property
    def where(self) -> str:
        """ "eu-west-1", or "Partner · us-east-1" outside the default connection (its
        account in `account_id`)."""
        return where_of(self.connection, self.region)

    @property
    def account_id(self) -> str:
        return self.connection.account_id if self.connection is not None else ""

    @property
    def custom_domain_address(self) -> str:
        """ "api.example.com/v1" (no scheme: plans.calls.stage_url makes the URL), or ""."""
        if not self.custom_domain:
            return ""
        return "/".join(part for part in (self.custom_domain, self.custom_domain_path) if part)

    @property
    def known_methods(self) -> set[tuple[str, str]] | None:
        """(METHOD, /path) of each documented method, or None while no document is known."""
        if self.operations is None:
            return None
        found = set()
        for operation in self.operations:
            method, _, path = str(operation).partition(" ")
            found.add((method, path))
        return found


class QuotaPeriod(models.TextChoices):
    DAY = "DAY", "per day"
    WEEK = "WEEK", "per week"
    MONTH = "MONTH", "per month"


class PlanQuerySet(models.QuerySet["Plan"]):
    def live(self) -> PlanQuerySet:
        return self.filter(archived_at__isnull=True)

    def listed(self) -> PlanQuerySet:
        """Live tiers shown to customers and visitors: self-serve and approval-required ones."""
        return self.live().filter(listed=True)

    def self_serve(self) -> PlanQuerySet:
        return self.listed().filter(self_serve=True)


class Plan(SyncState):
    """A tier: what API Gateway enforces as one usage plan."""

    sync_task = "plans.tasks.sync_plan"

    name = models.CharField(max_length=64, unique=True)
    slug = models.SlugField(max_length=64, unique=True)
    description = models.CharField(max_length=500, blank=True)
    self_serve = models.BooleanField(
        "self-serve",
        default=True,
        help_text="Customers can switch to it themselves, without approval.",
    )
    listed = models.BooleanField(
        default=True,
        help_text="Shown on the pricing page and to customers. A usage plan adopted from AWS "
        "starts unlisted until an admin publishes it.",
    )
    is_default = models.BooleanField(
        "default for new customers",
        default=False,
        help_text="New customers start on this tier (must be self-serve).",
    )
    throttle_rate = models.DecimalField(
        "rate (requests per second)",
        max_digits=8,
        decimal_places=2,
        null=True,
        blank=True,
        validators=RATE_LIMITS,
    )
    throttle_burst = models.PositiveIntegerField(
        "burst (requests)",
        null=True,
        blank=True,
        validators=BURST_LIMITS,
    )
    quota_limit = models.PositiveBigIntegerField(
        "quota (requests)",
        null=True,
        blank=True,
        validators=[
            MinValueValidator(1, "The quota must allow at least 1 request."),
            MaxValueValidator(MAX_QUOTA, "API Gateway allows a quota of at most 2,147,483,647."),
        ],
    )
    quota_period = models.CharField(
        max_length=5, choices=QuotaPeriod.choices, blank=True, default=""
    )
    quota_offset = models.PositiveIntegerField(
        "first-period offset (requests)",
        default=0,
        help_text="Requests taken off the quota in the first period only, e.g. for a tier that "
        "starts mid-month. Usually 0.",
    )
    monthly_price = models.DecimalField(
        max_digits=9,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0"), "The price cannot be negative.")],
        help_text="Shown to customers; Tollgate does not bill. Empty means free.",
    )
    stages = models.ManyToManyField(ApiStage, related_name="plans", blank=True)
    aws_id = models.CharField(
        "usage plan id",
        max_length=32,
        blank=True,
        help_text="The usage plan in the tier's first account and region (`copies` holds one "
        "per account and region it covers); kept by the sync.",
    )
    archived_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = PlanQuerySet.as_manager()

    class Meta:
        # Free tiers (no price) first on every database; PostgreSQL sorts NULL last by default.
        ordering = [models.F("monthly_price").asc(nulls_first=True), "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"],
                condition=Q(is_default=True, archived_at__isnull=True),
                name="one_default_tier",
            )
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_archived(self) -> bool:
        return self.archived_at is not None

    @property
    def has_throttle(self) -> bool:
        return self.throttle_rate is not None

    @property
    def has_quota(self) -> bool:
        return self.quota_limit is not None

    @property
    def rate_words(self) -> str:
        return rate_in_words(self.throttle_rate)

    @property
    def throttle_words(self) -> str:
        return throttle_in_words(self.throttle_rate, self.throttle_burst)

    @property
    def quota_words(self) -> str:
        return quota_in_words(self.quota_limit, self.get_quota_period_display())

    def clean(self) -> None:
        errors: dict[str, list[str]] = {}
        if (self.throttle_rate is None) != (self.throttle_burst is None):
            missing = "throttle_burst" if self.throttle_burst is None else "throttle_rate"
            errors.setdefault(missing, []).append(
                "Set both the rate and the burst, or leave both empty for no throttle."
            )
        if (self.quota_limit is None) != (not self.quota_period):
            missing = "quota_period" if not self.quota_period else "quota_limit"
            errors.setdefault(missing, []).append(
                "Set both the quota and its period, or leave both empty for no quota."
            )
        if self.quota_limit is not None:
            if self.quota_offset >= self.quota_limit:
                errors.setdefault("quota_offset", []).append(
                    "The offset must be smaller than the quota, or the first period allows nothing."
                )
        elif self.quota_offset:
            errors.setdefault("quota_offset", []).append("An offset needs a quota.")
        if self.is_default and not self.self_serve:
            errors.setdefault("is_default", []).append(
                "The default tier must be self-serve: new customers join it on their own."
            )
        if self.is_default and not self.listed:
            errors.setdefault("is_default", []).append(
                "The default tier must be listed: new customers see the tier they are on."
            )
        if errors:
            raise ValidationError(errors)

    def limits_snapshot(self) -> dict[str, Any]:
        """The fields that reach AWS, for audit events and comparisons."""
        return {
            "name": self.name,
            "description": self.description,
            "throttle_rate": f"{self.throttle_rate:.2f}"
            if self.throttle_rate is not None
            else None,
            "throttle_burst": self.throttle_burst,
            "quota_limit": self.quota_limit,
            "quota_period": self.quota_period or None,
            "quota_offset": self.quota_offset,
            "self_serve": self.self_serve,
            "listed": self.listed,
            "is_default": self.is_default,
            "monthly_price": f"{self.monthly_price:.2f}"
            if self.monthly_price is not None
            else None,
            "stages": sorted(str(s.pk) for s in self.stages.all()) if self.pk else [],
            "method_throttles": sorted(
                f"{t.stage_id} {t.method_key} {t.rate:.2f}/{t.burst}"
                for t in self.method_throttles.all()
            )
            if self.pk
            else [],
        }


HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
RESOURCE_PATH = re.compile(r"^/([A-Za-z0-9._~{}+-]+(/[A-Za-z0-9._~{}+-]+)*)?$")


class MethodThrottle(models.Model):
    """A tier's throttle for one method of one stage: apiStages[].throttle["/path/METHOD"].

    API Gateway applies it on top of the usage plan's own throttle. AWS does not refuse a method
    limit above the plan's; Tollgate does, since the plan's limit would still cap the method and
    the catalog would advertise a limit no customer can reach.
    """

    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="method_throttles")
    stage = models.ForeignKey(ApiStage, on_delete=models.CASCADE, related_name="+")
    resource_path = models.CharField(max_length=255)
    http_method = models.CharField(max_length=7)
    rate = models.DecimalField(
        "rate (requests per second)",
        max_digits=8,
        decimal_places=2,
        validators=RATE_LIMITS,
    )
    burst = models.PositiveIntegerField(
        "burst (requests)",
        validators=BURST_LIMITS,
    )

    class Meta:
        ordering = ["stage_id", "resource_path", "http_method"]
        constraints = [
            models.UniqueConstraint(
                fields=["plan", "stage", "resource_path", "http_method"],
                name="one_throttle_per_plan_method",
            )
        ]

    def __str__(self) -> str:
        return f"{self.http_method} {self.resource_path}"

    @property
    def throttle_words(self) -> str:
        return throttle_in_words(self.rate, self.burst)

    @property
    def method_key(self) -> str:
        """API Gateway's key in apiStages[].throttle: "{resourcePath}/{httpMethod}"."""
        return f"{self.resource_path}/{self.http_method}"

    def clean(self) -> None:
        errors: dict[str, list[str]] = {}
        if not RESOURCE_PATH.match(self.resource_path or ""):
            errors["resource_path"] = [
                "Write the resource path as API Gateway does, e.g. /forecast or /forecast/{city}."
            ]
        if self.http_method not in HTTP_METHODS:
            errors["http_method"] = [f"Choose one of {', '.join(HTTP_METHODS)}."]
        try:
            plan: Plan | None = self.plan  # may be the tier being saved, not yet in the database
        except Plan.DoesNotExist:
            plan = None
        if plan is not None and plan.throttle_rate is not None:
            if self.rate is not None and self.rate > plan.throttle_rate:
                errors.setdefault("rate", []).append(
                    f"A method's rate cannot be above the tier's ({rate_in_words(plan.throttle_rate)})."
                )
            if (
                self.burst is not None
                and plan.throttle_burst is not None
                and self.burst > plan.throttle_burst
            ):
                errors.setdefault("burst", []).append(
                    f"A method's burst cannot be above the tier's ({plan.throttle_burst})."
                )
        if errors:
            raise ValidationError(errors)
