from typing import Any

from django.db import models

from portal.audit.models import AuditEvent

CUSTOMER_LABEL = "customers.customer"


def organisation_id_of(target: models.Model | None) -> int | None:
    """The organisation an object belongs to, read from the object itself (no query): a
    customer is its own; a subscription, key, membership or import row names its
    `customer_id`. People and tiers belong to no single organisation."""
    if target is None:
        return None
    if target._meta.label_lower == CUSTOMER_LABEL:
        return int(target.pk) if target.pk is not None else None
    customer_id = getattr(target, "customer_id", None)
    return int(customer_id) if customer_id is not None else None


def audit(
    *,
    actor: Any,
    action: str,
    target: models.Model | None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    ip: str | None = None,
    about: str = "",
    customer_id: int | None = None,
) -> AuditEvent:
    """Record one change. Called inside the service's transaction, so it rolls back with it.

    `target` is the object changed; a request about no single object (look for stages in AWS,
    compare everything with AWS now) passes None and says what it was about in `about`. The
    organisation is the target's (`customer_id` overrides it). Never pass a password, a token
    or a code in `before`/`after`: owners and staff read them on the audit pages.
    """
    person = actor if actor is not None and getattr(actor, "pk", None) else None
    return AuditEvent.objects.create(
        actor=person,
        actor_email=(getattr(person, "email", "") or "")[:254] if person is not None else "",
        customer_id=customer_id if customer_id is not None else organisation_id_of(target),
        action=action,
        target_type=target._meta.label_lower if target is not None else "",
        target_id=str(target.pk) if target is not None else "",
        target_repr=(str(target) if target is not None else about)[:200],
        before=before,
        after=after,
        ip=ip or None,
    )
