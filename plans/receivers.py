"""The tiers' answer to events of the kernel (connected in PlansConfig.ready)."""

from typing import Any

from django.dispatch import receiver

from plans.services import subscription_start_default
from portal.customers.models import Customer
from portal.customers.signals import customer_signed_up


@receiver(customer_signed_up, dispatch_uid="plans-default-tier-on-sign-up")
def put_on_default_tier(
    sender: Any, *, customer: Customer, actor: Any, ip: str | None, **kwargs: Any
) -> None:
    subscription_start_default(actor=actor, customer=customer, ip=ip)
