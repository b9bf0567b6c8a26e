from django.db import models


class UsageDay(models.Model):
    """Requests one key made on one UTC day, as API Gateway metered them (GetUsage)."""

    customer_path = "key__customer"  # portal.access.restrict

    key = models.ForeignKey("keys.ApiKey", on_delete=models.CASCADE, related_name="usage_days")
    plan = models.ForeignKey("plans.Plan", on_delete=models.PROTECT, related_name="+")
    date = models.DateField()
    used = models.PositiveBigIntegerField()
    remaining = models.BigIntegerField(
        help_text="Quota left in the period at the end of this day (0 for a tier without quota)."
    )
    collected_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["key", "date"], name="one_usage_row_per_key_day")
        ]
        indexes = [models.Index(fields=["date", "key"]), models.Index(fields=["plan", "date"])]

    def __str__(self) -> str:
        return f"{self.key_id} {self.date}: {self.used}"


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
