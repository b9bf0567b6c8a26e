"""Writes to organisations (customers) and their memberships."""

from typing import Any

from django.db import transaction
from django.utils import timezone

from portal.accounts.models import User
from portal.audit.services import audit
from portal.customers.models import Customer, Membership, MembershipRole
from portal.customers.signals import customer_signed_up
from portal.errors import Refused
from portal.slugs import unique_slug


def unique_customer_slug(name: str) -> str:
    return unique_slug(Customer.objects.all(), name, fallback="org", max_length=100)


@transaction.atomic
def customer_create(*, actor: Any, name: str, ip: str | None = None) -> Customer:
    """A new organisation with nobody in it yet (an admin's import or an adopted usage plan)."""
    name = (name or "").strip()
    if not name:
        raise Refused("An organisation name is required.")
    customer = Customer(name=name, slug=unique_customer_slug(name))
    customer.full_clean()
    customer.save()
    audit(actor=actor, action="customer.created", target=customer, after={"name": name}, ip=ip)
    return customer


@transaction.atomic
def customer_onboard(*, owner: User, organisation_name: str, ip: str | None = None) -> Customer:
    """A new organisation with its first owner; it starts on the default tier (a receiver)."""
    customer = customer_create(actor=owner, name=organisation_name, ip=ip)
    Membership.objects.create(
        user=owner, customer=customer, role=MembershipRole.OWNER, selected_at=timezone.now()
    )
    customer_signed_up.send(sender=Customer, customer=customer, actor=owner, ip=ip)
    return customer
