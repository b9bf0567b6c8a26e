from __future__ import annotations

import datetime

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from portal.usage.periods import period_bounds


def default_region() -> str:
    """A row written without a place (before places, or by a test or bench of one region)."""
    return str(settings.AWS_REGION)


class UsageDay(models.Model):
    """Requests one key made on one UTC day in one account and region, as API Gateway metered
    them there (GetUsage of the tier's usage plan in that place: quotas are per usage plan)."""

    customer_path = "key__customer"  # portal.access.restrict

    key = models.ForeignKey("keys.ApiKey", on_delete=models.CASCADE, related_name="usage_days")
    plan = models.ForeignKey("plans.Plan", on_delete=models.PROTECT, related_name="+")
    connection = models.ForeignKey(
        "connections.AwsConnection",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="Blank: the settings' default account (no connection row existed yet).",
    )
    region = models.CharField(max_length=32, default=default_region)
    date = models.DateField()
    used = models.PositiveBigIntegerField()
    remaining = models.BigIntegerField(
        help_text="Quota left in the period at the end of this day (0 for a tier without quota)."
    )
    collected_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["key", "date", "connection", "region"],
                name="one_usage_row_per_key_day_place",
                # A null connection (the settings' default account) is one place, not many.
                nulls_distinct=False,
            )
        ]
        indexes = [
            models.Index(fields=["date", "key"]),
            models.Index(fields=["plan", "date"]),
            # `/api/v1/usage/days?ordering=-date,-pk` (or date,pk): without it the first page
            # sorted a whole day's rows by id (100,000 at 50,000 keys in two regions: 1.3 s).
            models.Index(fields=["date", "id"], name="usage_day_by_date_id"),
        ]

    def __str__(self) -> str:
        return f"{self.key_id} {self.date} {self.region}: {self.used}"

    @property
    def location_key(self) -> tuple[int | None, str]:
        return (self.connection_id, self.region)


class QuotaAlert(models.Model):
    """An email sent to a customer's owners when a key crossed 80% or 100% of its quota.

    Unique per key, period and threshold: each is sent once per quota period.
    """

    key = models.ForeignKey("keys.ApiKey", on_delete=models.CASCADE, related_name="quota_alerts")
    period_start = models.DateField()
    threshold = models.PositiveSmallIntegerField()  # percent: 80 or 100
    used = models.PositiveBigIntegerField()
    quota = models.PositiveBigIntegerField()
    sent_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["key", "period_start", "threshold"],
                name="one_alert_per_key_period_threshold",
            )
        ]

    def __str__(self) -> str:
        return f"{self.threshold}% alert for key {self.key_id} ({self.period_start})"


def current_periods(today: datetime.date) -> Q:
    """Rows of the DAY, WEEK or MONTH quota period that contains `today`."""
    return (
        Q(period="DAY", period_start=today)
        | Q(period="WEEK", period_start=period_bounds("WEEK", today)[0])
        | Q(period="MONTH", period_start=today.replace(day=1))
    )


class PeriodUsageQuerySet(models.QuerySet["PeriodUsage"]):
    def current(self, today: datetime.date) -> PeriodUsageQuerySet:
        """The rows of each tier's current quota period, in the period and quota it has now."""
        return self.filter(
            current_periods(today), period=F("plan__quota_period"), quota=F("plan__quota_limit")
        )


class PeriodUsage(models.Model):
    """A key's requests on one tier in one of that tier's quota periods, summed over every
    account and region (the roll-up the collector keeps with the UsageDay rows it stores).

    The ops page's quota watch and the quota alerts read the current period's rows ordered by
    `share` instead of summing a month of UsageDay on every view. A row counts only while its
    `period` and `quota` are the tier's own: after a tier's quota changes its rows are left out
    until the collector rebuilds them (rollups.refresh_stale_totals, at its next run).
    """

    key = models.ForeignKey("keys.ApiKey", on_delete=models.CASCADE, related_name="+")
    plan = models.ForeignKey("plans.Plan", on_delete=models.PROTECT, related_name="+")
    period = models.CharField(max_length=5)  # the tier's quota period: DAY / WEEK / MONTH
    period_start = models.DateField()
    used = models.PositiveBigIntegerField(default=0)
    quota = models.PositiveBigIntegerField(help_text="The tier's quota when last written.")
    # used / quota, stored so that "the keys nearest their quota" is an index range, not a sort.
    share = models.FloatField(default=0.0)

    objects = PeriodUsageQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["key", "plan", "period", "period_start"],
                name="one_period_usage_per_key_tier_period",
            )
        ]
        indexes = [
            # A period's keys nearest their quota first; ties by the larger use, then the key.
            models.Index(
                fields=["period", "period_start", "-share", "-used", "key"],
                name="period_usage_by_share",
            ),
            models.Index(fields=["plan", "period_start"], name="period_usage_of_tier"),
        ]

    def __str__(self) -> str:
        return f"{self.key_id} {self.period} {self.period_start}: {self.used}/{self.quota}"


class CustomerMonthUsage(models.Model):
    """A customer's requests in one UTC month, every key, tier and place (the ops page's top
    customers read the month's largest rows; kept by the collector with the UsageDay rows)."""

    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="+")
    month = models.DateField(help_text="The 1st of the month.")
    used = models.PositiveBigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["customer", "month"], name="one_usage_row_per_month")
        ]
        indexes = [models.Index(fields=["month", "-used"], name="customer_month_by_used")]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.month}: {self.used}"
