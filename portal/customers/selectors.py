from allauth.account.models import EmailAddress
from django.db.models import F, QuerySet

from portal.accounts.models import User
from portal.customers.models import Invitation, Membership


def memberships_of(user: User) -> QuerySet[Membership]:
    """A person's organisations, the one they chose last first (then the oldest)."""
    return user.memberships.select_related("customer").order_by(
        F("selected_at").desc(nulls_last=True), "created_at", "pk"
    )


def invitations_for(user: User) -> QuerySet[Invitation]:
    """Pending invitations to this person's verified address (the one they can prove)."""
    confirmed = EmailAddress.objects.filter(user=user, verified=True)
    verified = [email.lower() for email in confirmed.values_list("email", flat=True)]
    return (
        Invitation.objects.pending()
        .filter(email__in=verified)
        .select_related("customer", "invited_by")
    )
