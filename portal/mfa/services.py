"""The owner's switch "require two-factor authentication for everyone in this organisation".

It lives here, not in portal.customers (below the access policy in the layers), because it asks
the policy who is an owner (`portal.access.is_owner_of`), like every write of portal.teams."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from portal.access import is_owner_of
from portal.audit.services import audit
from portal.customers.models import Customer
from portal.errors import NotAllowed

OWNERS_ONLY = (
    "Only an owner of {organisation} can change whether it requires two-factor authentication."
)


@transaction.atomic
def customer_set_require_mfa(
    *, actor: Any, customer: Customer, required: bool, ip: str | None = None
) -> Customer:
    """Turn the requirement on or off; one audit event when it changes, none when it does not.

    Once on, everyone working in the organisation without a second factor is sent to set one up
    before any of its pages or the API (portal.access.mfa_setup_required), the owner too.
    """
    if not is_owner_of(actor, customer):
        raise NotAllowed(OWNERS_ONLY.format(organisation=customer.name))
    customer = Customer.objects.select_for_update().get(pk=customer.pk)
    before = customer.require_mfa
    if before == required:
        return customer
    customer.require_mfa = required
    customer.save(update_fields=["require_mfa"])
    audit(
        actor=actor,
        action="customer.mfa_required" if required else "customer.mfa_not_required",
        target=customer,
        before={"require_mfa": before},
        after={"require_mfa": required},
        ip=ip,
    )
    return customer
