from __future__ import annotations

import datetime
from typing import Any

from django.db import models
from django.utils import timezone

# A check makes at most 1 + 6 calls per region, each given 25 s at worst: one still "checking"
# after this never reached a worker (the broker was down) or died with it.
CHECK_OVERDUE_AFTER = datetime.timedelta(minutes=5)


class CheckStatus(models.TextChoices):
    UNCHECKED = "unchecked", "not checked yet"
    CHECKING = "checking", "checking"
    OK = "ok", "ready"
    MISSING = "missing", "permissions missing"
    FAILED = "failed", "cannot connect"


class AwsConnection(models.Model):
    """One AWS account, reached one way, in the regions Tollgate works in there.

    Holds no secret: blank `role_arn` means the Tollgate process's own credential chain; a role
    is assumed from that chain (portal/aws/connections.py). The account id is what STS answered
    at the last check, never typed.
    """

    name = models.CharField(max_length=80, unique=True)
    role_arn = models.CharField(
        "role ARN",
        max_length=2048,
        blank=True,
        help_text="Blank: Tollgate's own credentials (environment, profile, instance or task "
        "role). Otherwise the IAM role Tollgate assumes with STS AssumeRole.",
    )
    external_id = models.CharField("external id", max_length=1224, blank=True)
    regions = models.JSONField(default=list, help_text="AWS region codes, e.g. us-east-1.")
    is_default = models.BooleanField(default=False)
    account_id = models.CharField(max_length=12, blank=True)
    identity_arn = models.CharField(max_length=2048, blank=True)
    check_status = models.CharField(
        max_length=12, choices=CheckStatus.choices, default=CheckStatus.UNCHECKED
    )
    checked_at = models.DateTimeField(null=True, blank=True)
    check_report = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("-is_default", "name")
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"],
                condition=models.Q(is_default=True),
                name="one_default_aws_connection",
            )
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def uses_role(self) -> bool:
        return bool(self.role_arn)

    @property
    def credentials_in_words(self) -> str:
        if not self.role_arn:
            return "Tollgate's own credentials"
        return f"assumes {self.role_arn}" + (" with an external id" if self.external_id else "")

    @property
    def credentials_in_short(self) -> str:
        """For a narrow list: "role TollgateAccess of 222222222222"."""
        if not self.role_arn:
            return "Tollgate's own credentials"
        # arn:aws:iam::ACCOUNT:role/optional/path/NAME (validated by the service)
        account, _, path = self.role_arn.split(":", 4)[-1].partition(":role/")
        return f"role {path.rsplit('/', 1)[-1]} of {account}"

    @property
    def check_overdue(self) -> bool:
        return (
            self.check_status == CheckStatus.CHECKING
            and timezone.now() - self.updated_at > CHECK_OVERDUE_AFTER
        )

    @property
    def problem(self) -> str:
        return str(self.check_report.get("problem", ""))

    @property
    def missing(self) -> list[str]:
        return [
            str(outcome["words"])
            for outcomes in self.check_report.get("regions", {}).values()
            for outcome in outcomes
            if not outcome.get("ok")
        ]

    @property
    def region_reports(self) -> list[tuple[str, list[dict[str, Any]]]]:
        found: dict[str, list[dict[str, Any]]] = self.check_report.get("regions", {})
        return [(region, found.get(region, [])) for region in self.regions]


def where_of(connection: AwsConnection | None, region: str) -> str:
    """ "eu-west-1", or "Partner · us-east-1" outside the default connection: how pages name
    the place of a stage or a copy (Location.label reads the same)."""
    if connection is None or connection.is_default:
        return region
    return f"{connection.name} · {region}"


class AwsCopy(models.Model):
    """One AWS copy of a tier or key: Tollgate keeps one per account and region it covers.

    `synced_version` is the desired version of the object last pushed to this copy: a sync
    that failed in one region retries only the copies behind, and says where and why.
    """

    connection = models.ForeignKey(
        AwsConnection,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="Blank: the settings' default account (no connection row existed yet).",
    )
    region = models.CharField(max_length=32)
    aws_id = models.CharField(max_length=32, blank=True)
    synced_version = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    attempted_at = models.DateTimeField(null=True, blank=True)
    synced_at = models.DateTimeField(null=True, blank=True)
    pushed = models.JSONField(
        null=True,
        blank=True,
        help_text="What the last sync made AWS hold here: the next one patches from it without "
        "reading AWS first. Cleared whenever AWS may differ (the reconciler found it so).",
    )
    answer_lost_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When AWS last left a call for this copy unanswered: AWS may still apply it, "
        "so the next push waits until it must have landed before reading AWS.",
    )

    class Meta:
        abstract = True

    @property
    def location_key(self) -> tuple[int | None, str]:
        return (self.connection_id, self.region)

    @property
    def parent_version(self) -> int:
        """The desired version of the tier or key this copies (the subclass names it)."""
        raise NotImplementedError

    @property
    def state(self) -> str:
        """ "behind" (the last push here failed: `error` says why), "in_sync" or "pending"."""
        if self.error:
            return "behind"
        if self.aws_id and self.synced_version >= self.parent_version:
            return "in_sync"
        return "pending"

    @property
    def where(self) -> str:
        return where_of(self.connection, self.region)
