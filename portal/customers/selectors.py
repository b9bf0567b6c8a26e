from portal.accounts.models import User
from portal.customers.models import Customer


def customer_for_user(user: User) -> Customer | None:
    """The organisation a signed-in customer works in (their first membership)."""
    membership = user.memberships.select_related("customer").order_by("created_at", "pk").first()
    return membership.customer if membership else None
