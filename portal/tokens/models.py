from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class TokenScope(models.TextChoices):
    READ = "read", "Read only"
    WRITE = "write", "Read and write"
    # For a secret scanner: POST /api/v1/keys/leaked and nothing else; admins create them.
    LEAKS = "leaks", "Report leaked keys only"


class PersonalAccessToken(models.Model):
    """A token a person sends as `Authorization: Bearer …` to Tollgate's own REST API.

    Not an API Gateway key: those are what customers' applications send in `x-api-key`. We keep
    the SHA-256 of the token and its 8-character prefix (to find it and to show it), never the
    token itself; it is shown once, when it is created.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="access_tokens"
    )
    name = models.CharField(max_length=64)
    scope = models.CharField(max_length=5, choices=TokenScope.choices, default=TokenScope.READ)
    prefix = models.CharField(max_length=8, unique=True)
    token_sha256 = models.CharField(max_length=64)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} (tg_{self.prefix}_…)"

    @property
    def is_expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= timezone.now()

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None and not self.is_expired

    @property
    def can_write(self) -> bool:
        return self.scope == TokenScope.WRITE

    @property
    def reports_leaks_only(self) -> bool:
        """A leak-report token: the leak endpoint takes it, every other endpoint refuses it."""
        return self.scope == TokenScope.LEAKS

    @property
    def state_label(self) -> str:
        if self.revoked_at:
            return "revoked"
        return "expired" if self.is_expired else "active"
