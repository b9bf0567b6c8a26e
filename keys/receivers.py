"""The keys' answer to events of the tiers (connected in KeysConfig.ready)."""

from typing import Any

from django.dispatch import receiver

from keys.capacity import refuse_keys_joining_past_cap
from keys.models import KeyCopy
from keys.services import keys_resync_for_customer, keys_resync_for_tier
from plans.models import Plan, Subscription
from plans.signals import keys_joining_places, subscription_started, tier_places_changed
from portal.connections.models import AwsConnection
from portal.connections.signals import default_connection_made


@receiver(subscription_started, dispatch_uid="keys-follow-the-tier")
def move_keys_to_new_tier(sender: Any, *, subscription: Subscription, **kwargs: Any) -> None:
    """API Gateway meters a key in its usage plan: every live key follows the new tier."""
    keys_resync_for_customer(subscription.customer)


@receiver(tier_places_changed, dispatch_uid="keys-follow-the-tier-places")
def move_keys_with_tier(sender: Any, *, plan: Plan, **kwargs: Any) -> None:
    """A key has a copy in every account and region its tier covers."""
    keys_resync_for_tier(plan)


@receiver(keys_joining_places, dispatch_uid="keys-within-aws-cap")
def refuse_keys_past_aws_cap(sender: Any, **kwargs: Any) -> None:
    """API Gateway refuses the 10,001st key of an account and region: refuse the change first."""
    refuse_keys_joining_past_cap(**kwargs)


@receiver(default_connection_made, dispatch_uid="keys-onto-the-default-connection")
def adopt_default_connection(sender: Any, *, connection: AwsConnection, **kwargs: Any) -> None:
    """Key copies recorded before any connection existed are in its account."""
    KeyCopy.objects.filter(connection__isnull=True).update(connection=connection)
