"""What happens to subscriptions that the layers above react to (docs/architecture.md)."""

from django.dispatch import Signal

# A customer started on a tier, inside the switching transaction (kwargs: subscription, previous
# — the subscription it ended, or None). Its keys move to the tier's usage plan (keys/receivers.py).
subscription_started = Signal()

# A tier's usage plans moved: one was made in an account and region it now covers, or removed
# from one it no longer does (kwargs: plan). Sent by the worker; its customers' keys follow
# (keys/receivers.py), each copy waiting until the usage plan of its place exists.
tier_places_changed = Signal()
