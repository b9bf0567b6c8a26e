"""The keys' answer to events of the tiers (connected in KeysConfig.ready)."""

from typing import Any

from django.dispatch import receiver

from keys.services import keys_resync_for_customer
from plans.models import Subscription
from plans.signals import subscription_started


@receiver(subscription_started, dispatch_uid="keys-follow-the-tier")
def move_keys_to_new_tier(sender: Any, *, subscription: Subscription, **kwargs: Any) -> None:
    """API Gateway meters a key in its usage plan: every live key follows the new tier."""
    keys_resync_for_customer(subscription.customer)
