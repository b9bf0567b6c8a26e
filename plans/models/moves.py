"""Bulk tier moves: every customer on one tier to another, a batch at a time (plans/moves.py)."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class TierMoveStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    CANCELLED = "cancelled", "Cancelled"
    FAILED = "failed", "Failed"


ACTIVE_MOVE_STATUSES = (TierMoveStatus.QUEUED, TierMoveStatus.RUNNING)


class TierMove(models.Model):
    """An admin's "move every customer on `from_plan` to `to_plan`". The work left is always
    the customers still on `from_plan` without an outcome in this move, so a crashed run
    continues where it stopped; the counts are a summary the worker refreshes after each batch
    (the outcomes and the keys' sync state are the truth)."""

    from_plan = models.ForeignKey("plans.Plan", on_delete=models.PROTECT, related_name="moves_out")
    to_plan = models.ForeignKey("plans.Plan", on_delete=models.PROTECT, related_name="moves_in")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    ip = models.GenericIPAddressField(
        null=True, blank=True, help_text="Recorded on every customer's audit event."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(
        max_length=10, choices=TierMoveStatus.choices, default=TierMoveStatus.QUEUED
    )
    customers_total = models.PositiveIntegerField(default=0)
    customers_moved = models.PositiveIntegerField(default=0)
    customers_refused = models.PositiveIntegerField(default=0)
    customers_failed = models.PositiveIntegerField(default=0)
    keys_total = models.PositiveIntegerField(
        default=0, help_text="Live keys of the customers moved or still to move."
    )
    keys_moved = models.PositiveIntegerField(
        default=0, help_text="Keys of moved customers that API Gateway holds in the new tier."
    )
    keys_failed = models.PositiveIntegerField(
        default=0, help_text="Keys of moved customers whose sync failed (retry them)."
    )
    keys_waiting = models.PositiveIntegerField(
        default=0, help_text="Keys of moved customers still on their way to API Gateway."
    )
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["status"], name="tiermove_status")]

    def __str__(self) -> str:
        return f"tier move {self.pk}"

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_MOVE_STATUSES

    @property
    def customers_done(self) -> int:
        return self.customers_moved + self.customers_refused + self.customers_failed


class TierMoveOutcome(models.TextChoices):
    MOVED = "moved", "Moved"
    REFUSED = "refused", "Refused"
    FAILED = "failed", "Failed"


class TierMoveItem(models.Model):
    """What became of one customer in a move, written in the same transaction as its switch:
    a customer with an item is never taken again by the same move."""

    move = models.ForeignKey(TierMove, on_delete=models.CASCADE, related_name="items")
    customer = models.ForeignKey(
        "customers.Customer", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    customer_name = models.CharField(max_length=200, blank=True)
    outcome = models.CharField(max_length=10, choices=TierMoveOutcome.choices)
    reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(fields=["move", "customer"], name="one_outcome_per_customer")
        ]
        indexes = [models.Index(fields=["move", "outcome"], name="tiermoveitem_outcome")]

    def __str__(self) -> str:
        return f"{self.customer_name}: {self.outcome}"
