from django.db import models


class ReconcileRun(models.Model):
    """One comparison of the whole database with API Gateway."""

    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    dry_run = models.BooleanField(default=False)
    summary = models.JSONField(default=dict)
    foreign_usage_plans = models.JSONField(
        default=list,
        help_text="Usage plans in AWS that Tollgate did not create: offered for import.",
    )
    foreign_key_count = models.PositiveIntegerField(default=0)
    places = models.JSONField(
        default=dict,
        blank=True,
        help_text='What each account and region held, by where it is ("eu-west-1", '
        '"Partner · us-east-1"): usage plans and keys listed, AWS calls, copies in sync, '
        "drifted and missing there, and the error that kept it from being compared.",
    )
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"reconcile at {self.started_at:%Y-%m-%d %H:%M:%S}"


class CapacityCount(models.Model):
    """The capacity figures as last counted, for the pages (portal/reconcile/counts.py).
    Counting every key and copy takes longer than a page may at 50,000 keys; the refusals
    before a write never read this: they count exactly."""

    counted_at = models.DateTimeField(db_index=True)
    figures = models.JSONField(
        help_text='Each figure by place, and the tiers with the most keys there: {"figures": '
        '{"api_keys": [[connection id, region, "1204"], ...], ...}, "top_tiers": [[connection '
        'id, region, [["Free", 980], ...]], ...]}.'
    )

    class Meta:
        ordering = ["-counted_at"]

    def __str__(self) -> str:
        return f"capacity counted at {self.counted_at:%Y-%m-%d %H:%M:%S}"
