from __future__ import annotations

import datetime
import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.timesince import timeuntil

from portal.connections.models import AwsCopy
from portal.sync import SyncState

IDLE_AFTER_DAYS = 90  # a key with no traffic for this long is "idle" (keys.idle)


def is_idle(
    created_at: datetime.datetime | None,
    last_used_on: datetime.date | None,
    now: datetime.datetime,
) -> bool:
    """The one rule: older than IDLE_AFTER_DAYS, and no traffic in the last IDLE_AFTER_DAYS days
    (`last_used_on` is the last day the collected usage shows requests)."""
    since = now - datetime.timedelta(days=IDLE_AFTER_DAYS)
    if created_at is None or created_at > since:
        return False
    return last_used_on is None or last_used_on <= since.date()


class ApiKeyQuerySet(models.QuerySet["ApiKey"]):
    def live(self) -> ApiKeyQuerySet:
        return self.filter(revoked_at__isnull=True)


class RevokeReason(models.TextChoices):
    REVOKED = "revoked", "Revoked by a person"
    ROTATED = "rotated", "Replaced by a rotation"
    EXPIRED = "expired", "Expired"
    LEAKED = "leaked", "Reported leaked"


class DisableReason(models.TextChoices):
    NONE = "", "—"
    PERSON = "person", "Disabled by a person"
    IDLE = "idle", "Idle for 90 days"
    LEAKED = "leaked", "Reported leaked"


class ApiKey(SyncState):
    """A customer's API Gateway key. We keep the SHA-256 of its secret and a short prefix,
    never the secret itself."""

    sync_task = "keys.tasks.sync_key"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, related_name="api_keys"
    )
    name = models.CharField(max_length=64)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    display_prefix = models.CharField(max_length=8, blank=True)
    secret_sha256 = models.CharField(max_length=64, blank=True, db_index=True)  # leak reports
    secret_revealed_at = models.DateTimeField(null=True, blank=True)
    aws_id = models.CharField(
        "API key id",
        max_length=32,
        blank=True,
        help_text="The key in its first account and region (`copies` holds one per account "
        "and region its tier covers, all with the same value); kept by the sync.",
    )
    imported_aws_name = models.CharField(
        max_length=1024,
        blank=True,
        help_text="A key imported from an existing account keeps its AWS name.",
    )
    enabled = models.BooleanField(default=True)
    disabled_reason = models.CharField(
        max_length=16, choices=DisableReason.choices, blank=True, default=""
    )
    # Expiry: API Gateway refuses the key from then on (the sync disables it), and a beat job
    # revokes it after the retention; owners are warned 7 days and 1 day before.
    expires_at = models.DateTimeField(null=True, blank=True, db_index=True)
    expiry_warned_7d_at = models.DateTimeField(null=True, blank=True)
    expiry_warned_1d_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_reason = models.CharField(
        max_length=16, choices=RevokeReason.choices, blank=True, default=""
    )
    # Rotation: the new key names the old one; the old one works until its grace period ends.
    rotated_from = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="rotations"
    )
    grace_ends_at = models.DateTimeField(null=True, blank=True, db_index=True)
    # The new key's quota bookkeeping across a rotation (keys/rotation.py owns its shape).
    rotation_state = models.JSONField(default=dict, blank=True)
    # The last day the collected usage shows traffic (portal.usage keeps it up to date).
    last_used_on = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ApiKeyQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            # The key lists' order (newest first): without it PostgreSQL sorted every key a page.
            models.Index(fields=["-created_at", "-id"], name="apikey_newest_first"),
            # The staff key search (keys.api.filters: an API Gateway id, or a display prefix's
            # start); a part of a name is a trigram index on PostgreSQL (migration 0010).
            models.Index(fields=["aws_id"], name="apikey_aws_id"),
            models.Index(
                fields=["display_prefix"], opclasses=["varchar_pattern_ops"], name="apikey_prefix"
            ),
            # The overview's attention list: the few unsettled keys, not a scan of all of them.
            models.Index(
                fields=["sync_status", "-sync_requested_at"],
                condition=Q(sync_status__in=["pending", "failed"]),
                name="apikey_unsettled",
            ),
        ]
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
    def is_expired(self) -> bool:
        """Its expiry passed: API Gateway refuses it (keys.sync), whatever `enabled` says."""
        return self.expires_at is not None and self.expires_at <= timezone.now()

    @property
    def expires_in(self) -> str:
        """ "6 days", "3 hours": how long until the expiry, for the pages ("" once passed)."""
        if self.expires_at is None or self.is_expired:
            return ""
        return timeuntil(self.expires_at, depth=1)

    @property
    def expires_soon(self) -> bool:
        """Within the 7 days before its expiry (the owners' first warning)."""
        if self.expires_at is None or self.is_expired:
            return False
        return self.expires_at - timezone.now() <= datetime.timedelta(days=7)

    @property
    def is_idle(self) -> bool:
        """No traffic for IDLE_AFTER_DAYS days (by the collected usage), and at least that old."""
        return is_idle(self.created_at, self.last_used_on, timezone.now())

    @property
    def state_label(self) -> str:
        if self.revoked_at:
            return "revoked"
        if self.is_expired:
            return "expired"
        return "enabled" if self.enabled else "disabled"


class KeyCopy(AwsCopy):
    """The key in one account and region its tier covers: the same value in every copy."""

    key = models.ForeignKey(ApiKey, on_delete=models.CASCADE, related_name="copies")

    class Meta:
        ordering = ["key_id", "connection_id", "region"]
        constraints = [
            models.UniqueConstraint(
                fields=["key", "connection", "region"], name="one_key_copy_per_location"
            )
        ]
        indexes = [models.Index(fields=["connection", "region", "aws_id"], name="keycopy_aws_id")]

    def __str__(self) -> str:
        return f"{self.key_id} in {self.region}"

    @property
    def parent_version(self) -> int:
        return self.key.desired_version


# --- bulk onboarding (keys/imports/) ------------------------------------------------------------


class KeyImportStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class KeyImport(models.Model):
    """One uploaded CSV of existing API keys. The secrets are never stored here (keys/imports/)."""

    token = models.CharField(
        max_length=8,
        unique=True,
        help_text="Starts the AWS name of every key of this import, so they can be listed by name.",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    file_name = models.CharField(max_length=255, blank=True)
    status = models.CharField(
        max_length=10, choices=KeyImportStatus.choices, default=KeyImportStatus.QUEUED
    )
    total = models.PositiveIntegerField(default=0, help_text="Rows sent to API Gateway.")
    done = models.PositiveIntegerField(default=0, help_text="Rows imported or failed so far.")
    failed = models.PositiveIntegerField(default=0, help_text="Rows API Gateway did not take.")
    skipped = models.PositiveIntegerField(default=0, help_text="Bad rows, never sent.")
    error = models.TextField(blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"key import {self.pk} ({self.file_name or 'no name'})"

    @property
    def is_active(self) -> bool:
        return self.status in (KeyImportStatus.QUEUED, KeyImportStatus.RUNNING)

    @property
    def imported(self) -> int:
        return self.done - self.failed


class KeyImportRowStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    IMPORTED = "imported", "Imported"
    FAILED = "failed", "Failed"
    SKIPPED = "skipped", "Skipped"


class KeyImportRow(models.Model):
    """One line of an import: what it asked for and what became of it (no secret, ever)."""

    key_import = models.ForeignKey(KeyImport, on_delete=models.CASCADE, related_name="rows")
    line = models.PositiveIntegerField(help_text="Line in the uploaded file; the header is 1.")
    chunk = models.PositiveIntegerField(default=0)
    customer = models.ForeignKey(
        "customers.Customer", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    customer_ref = models.CharField(max_length=120, blank=True, help_text="As written in the file.")
    name = models.CharField(max_length=120, blank=True)
    enabled = models.BooleanField(default=True)
    status = models.CharField(
        max_length=10, choices=KeyImportRowStatus.choices, default=KeyImportRowStatus.PENDING
    )
    message = models.TextField(blank=True)
    key_public_id = models.UUIDField(null=True, blank=True)
    key = models.ForeignKey(
        ApiKey, null=True, blank=True, on_delete=models.SET_NULL, related_name="import_rows"
    )
    secret_sha256 = models.CharField(max_length=64, blank=True, db_index=True)
    display_prefix = models.CharField(max_length=8, blank=True)

    class Meta:
        ordering = ["line"]
        constraints = [
            models.UniqueConstraint(fields=["key_import", "line"], name="one_row_per_import_line")
        ]
        indexes = [models.Index(fields=["key_import", "status"], name="keyimportrow_status")]

    def __str__(self) -> str:
        return f"line {self.line}: {self.name}"

    @property
    def aws_name(self) -> str:
        return f"tollgate-{self.key_public_id}"
