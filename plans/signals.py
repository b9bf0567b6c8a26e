"""What happens to subscriptions that the layers above react to (docs/architecture.md)."""

from django.dispatch import Signal

# A customer started on a tier, inside the switching transaction (kwargs: subscription, previous
# — the subscription it ended, or None). Its keys move to the tier's usage plan (keys/receivers.py).
subscription_started = Signal()

# A tier's usage plans moved: one was made in an account and region it now covers, or removed
# from one it no longer does (kwargs: plan). Sent by the worker; its customers' keys follow
# (keys/receivers.py), each copy waiting until the usage plan of its place exists.
tier_places_changed = Signal()

# Before a change gives keys a copy in more accounts and regions (a customer moving to a tier, a
# tier covering another place), inside its transaction and before anything is saved (kwargs:
# plan; customer, the one moving, or None for every customer on the tier; places, the added
# {location key: Location}). A receiver refuses with ValidationError (keys/capacity.py: API
# Gateway's 10,000 keys per account and region).
keys_joining_places = Signal()

# A tier's quota (limit, period or offset) changed, inside the changing transaction (kwargs:
# plan). The usage roll-ups of its current period follow (portal/usage/receivers.py).
tier_quota_changed = Signal()
