from typing import Any

from django.db import models

from portal.audit.models import AuditEvent


def audit(
    *,
    actor: Any,
    action: str,
    target: models.Model | None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    ip: str | None = None,
    about: str = "",
) -> AuditEvent:
    """Record one change. Called inside the service's transaction, so it rolls back with it.

    `target` is the object changed; a request about no single object (look for stages in AWS,
    compare everything with AWS now) passes None and says what it was about in `about`.
    """
    return AuditEvent.objects.create(
        actor=actor if actor is not None and getattr(actor, "pk", None) else None,
        action=action,
        target_type=target._meta.label_lower if target is not None else "",
        target_id=str(target.pk) if target is not None else "",
        target_repr=(str(target) if target is not None else about)[:200],
        before=before,
        after=after,
        ip=ip or None,
    )
