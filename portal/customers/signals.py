"""Events of the organisation's life that the layers above react to (docs/architecture.md).

The kernel cannot import the domains, so it says what happened and they decide what follows.
Receivers run inside the sender's transaction: a failure rolls the whole change back.
"""

from django.dispatch import Signal

# A new organisation signed up with its first owner (kwargs: customer, actor, ip). The tiers put
# it on the default tier (plans/receivers.py).
customer_signed_up = Signal()
