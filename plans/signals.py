"""What happens to subscriptions that the layers above react to (docs/architecture.md)."""

from django.dispatch import Signal

# A customer started on a tier, inside the switching transaction (kwargs: subscription, previous
# — the subscription it ended, or None). Its keys move to the tier's usage plan (keys/receivers.py).
subscription_started = Signal()
