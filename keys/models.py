from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

from portal.sync import SyncState


class ApiKeyQuerySet(models.QuerySet["ApiKey"]):
    def live(self) -> ApiKeyQuerySet:
        return self.filter(revoked_at__isnull=True)


class ApiKey(SyncState):
    """A customer's API Gateway key. We keep the SHA-256 of its secret and a short prefix,
    never the secret itself."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, related_name="api_keys"
    )
    name = models.CharField(max_length=64)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    display_prefix = models.CharField(max_length=8, blank=True)
    secret_sha256 = models.CharField(max_length=64, blank=True)
    secret_revealed_at = models.DateTimeField(null=True, blank=True)
    aws_id = models.CharField("API key id", max_length=32, blank=True)
    imported_aws_name = models.CharField(
        max_length=1024,
        blank=True,
        help_text="A key imported from an existing account keeps its AWS name.",
    )
    enabled = models.BooleanField(default=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    rotated_from = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="rotations"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ApiKeyQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "name"],
                condition=Q(revoked_at__isnull=True),
                name="unique_live_key_name_per_customer",
            )
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def aws_name(self) -> str:
        """The key's name in API Gateway: unique and stable, so a crashed create can be found."""
        return self.imported_aws_name or f"tollgate-{self.public_id}"

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    @property
    def state_label(self) -> str:
        if self.revoked_at:
            return "revoked"
        return "enabled" if self.enabled else "disabled"
