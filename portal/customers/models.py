import datetime

from django.conf import settings
from django.db import models
from django.utils import timezone


class Customer(models.Model):
    """An organisation that buys access to the API; its people join through memberships."""

    customer_path = "pk"  # portal.access.restrict: an organisation is its own

    name = models.CharField(max_length=100)
    slug = models.SlugField(max_length=110, unique=True)
    require_mfa = models.BooleanField(
        "require two-factor authentication",
        default=False,
        help_text="Everyone in this organisation must set up a second factor before using it.",
    )
    leaked_key_action = models.CharField(
        "when a key of ours is reported leaked",
        max_length=10,
        choices=[("disable", "Disable it"), ("roll", "Roll it (a new key, the old one disabled)")],
        default="disable",
    )
    disable_idle_keys = models.BooleanField(
        "disable keys idle for 90 days",
        default=False,
        help_text="Keys with no traffic for 90 days are disabled (and the owners emailed).",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        # The console's customer list pages by (name, id) from a position (keyset paging).
        indexes = [models.Index(fields=["name", "id"], name="customer_name_order")]

    def __str__(self) -> str:
        return self.name


class MembershipRole(models.TextChoices):
    OWNER = "owner", "Owner"
    MEMBER = "member", "Member"


class Membership(models.Model):
    """A person in an organisation. Owners do what costs money or changes who is in; members
    work with keys and usage (portal/access.py says which is which)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=MembershipRole.choices)
    created_at = models.DateTimeField(auto_now_add=True)
    # The organisation a person works in is the one they chose last (pages and API alike).
    selected_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "customer"], name="one_membership_per_user"),
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.customer} ({self.role})"

    @property
    def is_owner(self) -> bool:
        return self.role == MembershipRole.OWNER


INVITATION_LIFETIME = datetime.timedelta(days=7)


class InvitationQuerySet(models.QuerySet["Invitation"]):
    def pending(self) -> "InvitationQuerySet":
        return self.filter(
            accepted_at__isnull=True, revoked_at__isnull=True, expires_at__gt=timezone.now()
        )


class Invitation(models.Model):
    """An invitation to join an organisation, sent by email. Only a hash of the link's token is
    kept: the link in the email is the one copy of the token."""

    customer_path = "customer"

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField()
    role = models.CharField(max_length=10, choices=MembershipRole.choices)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="invitations_sent",
    )
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="invitations_accepted",
    )
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = InvitationQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # One live invitation per address and organisation: a second one is a resend.
            models.UniqueConstraint(
                fields=["customer", "email"],
                condition=models.Q(accepted_at__isnull=True, revoked_at__isnull=True),
                name="one_open_invitation_per_email",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.email} to {self.customer} ({self.role})"

    @property
    def state(self) -> str:
        if self.accepted_at:
            return "accepted"
        if self.revoked_at:
            return "revoked"
        if self.expires_at <= timezone.now():
            return "expired"
        return "pending"
