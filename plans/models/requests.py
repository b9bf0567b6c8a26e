"""A customer's request to join an approval-only tier, and what an admin decided."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from plans.models.tiers import Plan

MAX_TEXT = 2000  # a request's message and a decision's reason


class TierRequestState(models.TextChoices):
    PENDING = "pending", "Waiting for approval"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"
    WITHDRAWN = "withdrawn", "Withdrawn"


class TierRequestQuerySet(models.QuerySet["TierRequest"]):
    def pending(self) -> TierRequestQuerySet:
        return self.filter(state=TierRequestState.PENDING)


class TierRequest(models.Model):
    """An owner asks for an approval-only tier; an admin approves (the customer moves to it, its
    keys follow in API Gateway) or rejects it with a reason. One pending request per customer."""

    customer_path = "customer"  # portal.access.restrict

    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, related_name="tier_requests"
    )
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="tier_requests")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    message = models.TextField(blank=True, max_length=MAX_TEXT)
    state = models.CharField(
        max_length=10, choices=TierRequestState.choices, default=TierRequestState.PENDING
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    reason = models.TextField(
        blank=True, max_length=MAX_TEXT, help_text="Why it was rejected (shown to the customer)."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = TierRequestQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["customer"],
                condition=Q(state="pending"),
                name="one_pending_tier_request_per_customer",
            )
        ]

    def __str__(self) -> str:
        return f"{self.customer} asks for {self.plan}"

    @property
    def is_pending(self) -> bool:
        return self.state == TierRequestState.PENDING

    def snapshot(self) -> dict[str, str]:
        """What audit events record of it (the message and reason are the customer's and the
        admin's own words, never a secret)."""
        return {"tier": self.plan.name, "state": self.state}
