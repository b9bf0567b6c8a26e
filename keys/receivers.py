"""The keys' answer to events of the tiers (connected in KeysConfig.ready)."""

from typing import Any

from django.dispatch import receiver

from keys.services import keys_resync_for_customer, keys_resync_for_tier
from plans.models import Plan, Subscription
from plans.signals import subscription_started, tier_places_changed


@receiver(subscription_started, dispatch_uid="keys-follow-the-tier")
def move_keys_to_new_tier(sender: Any, *, subscription: Subscription, **kwargs: Any) -> None:
    """API Gateway meters a key in its usage plan: every live key follows the new tier."""
    keys_resync_for_customer(subscription.customer)


@receiver(tier_places_changed, dispatch_uid="keys-follow-the-tier-places")
def move_keys_with_tier(sender: Any, *, plan: Plan, **kwargs: Any) -> None:
    """A key has a copy in every account and region its tier covers."""
    keys_resync_for_tier(plan)
