from django.conf import settings
from django.db import models


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
        indexes = [models.Index(fields=["date", "key"]), models.Index(fields=["plan", "date"])]

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
