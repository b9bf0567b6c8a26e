"""The tiers' answer to events of the kernel (connected in PlansConfig.ready)."""

from typing import Any

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from plans.models import ApiStage, PlanCopy, Subscription
from plans.selectors import forget_customers_per_tier
from plans.services import subscription_start_default
from portal.connections.models import AwsConnection
from portal.connections.signals import default_connection_made
from portal.customers.models import Customer
from portal.customers.signals import customer_signed_up


@receiver(customer_signed_up, dispatch_uid="plans-default-tier-on-sign-up")
def put_on_default_tier(
    sender: Any, *, customer: Customer, actor: Any, ip: str | None, **kwargs: Any
) -> None:
    subscription_start_default(actor=actor, customer=customer, ip=ip)


@receiver(default_connection_made, dispatch_uid="plans-onto-the-default-connection")
def adopt_default_connection(sender: Any, *, connection: AwsConnection, **kwargs: Any) -> None:
    """Stages and usage plans recorded before any connection existed are in its account."""
    ApiStage.objects.filter(connection__isnull=True).update(connection=connection)
    PlanCopy.objects.filter(connection__isnull=True).update(connection=connection)


@receiver(post_save, sender=Subscription, dispatch_uid="plans-recount-tiers-on-save")
@receiver(post_delete, sender=Subscription, dispatch_uid="plans-recount-tiers-on-delete")
def recount_tier_customers(sender: Any, **kwargs: Any) -> None:
    """Every path that starts or ends a subscription (the services, a customer's deletion, the
    Django admin) saves or deletes one: the tier list's kept counts go with it."""
    forget_customers_per_tier()
