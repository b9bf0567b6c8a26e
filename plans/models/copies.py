"""A tier's usage plan in each account and region it covers."""

from __future__ import annotations

from django.db import models

from portal.connections.models import AwsCopy


class PlanCopy(AwsCopy):
    """The usage plan of one tier in one account and region (its stages there)."""

    plan = models.ForeignKey("plans.Plan", on_delete=models.CASCADE, related_name="copies")

    class Meta:
        ordering = ["plan_id", "connection_id", "region"]
        constraints = [
            models.UniqueConstraint(
                fields=["plan", "connection", "region"], name="one_usage_plan_per_location"
            )
        ]

    def __str__(self) -> str:
        return f"{self.plan_id} in {self.region}"

    @property
    def parent_version(self) -> int:
        return self.plan.desired_version
