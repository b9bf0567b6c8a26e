from typing import Any, NoReturn

from django.conf import settings
from django.db import models


class AppendOnly(Exception):
    """An audit event is written once and never changed or deleted."""


def _refuse(what: str) -> NoReturn:
    raise AppendOnly(f"The audit trail is append-only: an audit event cannot be {what}.")


class AuditEventQuerySet(models.QuerySet["AuditEvent"]):
    """Bulk updates and deletes are refused in code too (on PostgreSQL a trigger refuses them
    whatever the code does), so SQLite follows the same rule."""

    def update(self, **kwargs: Any) -> int:
        _refuse("updated")

    def delete(self) -> tuple[int, dict[str, int]]:
        _refuse("deleted")


class AuditEvent(models.Model):
    """Who did what to which object of which organisation, with the values before and after,
    when and from where. Append-only: see migrations/0002 for the PostgreSQL trigger.

    The person and the organisation are kept as they were when it happened: `actor_email` is a
    copy, and neither foreign key has a database constraint or an on_delete action, so deleting
    a person or an organisation never touches (never UPDATEs) an event about them.
    """

    customer_path = "customer"  # portal.access.restrict: an organisation sees its own events

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    actor_email = models.CharField(max_length=254, blank=True, default="")
    customer = models.ForeignKey(
        "customers.Customer",
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,  # the (customer, created_at) index below serves it
        related_name="+",
    )
    action = models.CharField(max_length=64)
    target_type = models.CharField(max_length=64)
    target_id = models.CharField(max_length=64)
    target_repr = models.CharField(max_length=200)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["target_type", "target_id"]),
            models.Index(fields=["customer", "-created_at"], name="audit_event_customer_idx"),
            models.Index(fields=["action"], name="audit_event_action_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.action} {self.target_repr}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            _refuse("changed")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        _refuse("deleted")
