"""The organisation's key settings, beside "require MFA" on its settings page (/app/settings/,
`PATCH /api/v1/organisation/settings`): owners choose whether keys idle for 90 days are
disabled (keys.idle) and what happens to a key reported leaked (disable it, or roll it).

It lives with the settings page in portal.mfa: the page also counts who has a second factor
(portal.mfa.adapter), and portal.teams, its sibling in the layers, may not import that. Like
the MFA switch it asks the access policy who is an owner, so it is above portal.customers."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from portal.access import is_owner_of
from portal.audit.services import audit
from portal.customers.models import Customer
from portal.errors import NotAllowed

KEY_SETTINGS_OWNERS_ONLY = "Only an owner of {organisation} can change how its keys are handled."
LEAKED_KEY_ACTIONS = dict(Customer._meta.get_field("leaked_key_action").choices or [])


@transaction.atomic
def customer_set_key_settings(
    *,
    actor: Any,
    customer: Customer,
    disable_idle_keys: bool | None = None,
    leaked_key_action: str | None = None,
    ip: str | None = None,
) -> Customer:
    """Change either or both (None: leave it); one audit event, `customer.key_settings_changed`
    with the values before and after, when something changes, none when nothing does."""
    if not is_owner_of(actor, customer):
        raise NotAllowed(KEY_SETTINGS_OWNERS_ONLY.format(organisation=customer.name))
    if leaked_key_action is not None and leaked_key_action not in LEAKED_KEY_ACTIONS:
        raise ValidationError(
            {"leaked_key_action": [f"Choose one of: {', '.join(LEAKED_KEY_ACTIONS)}."]}
        )
    customer = Customer.objects.select_for_update().get(pk=customer.pk)
    wanted = {"disable_idle_keys": disable_idle_keys, "leaked_key_action": leaked_key_action}
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    for field, value in wanted.items():
        if value is not None and getattr(customer, field) != value:
            before[field], after[field] = getattr(customer, field), value
            setattr(customer, field, value)
    if not after:
        return customer
    customer.save(update_fields=list(after))
    audit(
        actor=actor,
        action="customer.key_settings_changed",
        target=customer,
        before=before,
        after=after,
        ip=ip,
    )
    return customer
