from typing import Any

from django.db import models

from portal.audit.models import AuditEvent


def audit(
    *,
    actor: Any,
    action: str,
    target: models.Model,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    ip: str | None = None,
) -> AuditEvent:
    """Record one change. Called inside the service's transaction, so it rolls back with it."""
    return AuditEvent.objects.create(
        actor=actor if actor is not None and getattr(actor, "pk", None) else None,
        action=action,
        target_type=target._meta.label_lower,
        target_id=str(target.pk),
        target_repr=str(target)[:200],
        before=before,
        after=after,
        ip=ip or None,
    )
