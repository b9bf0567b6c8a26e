"""Shapes of the key and key-import requests and answers. Meaning is keys.services'."""

from __future__ import annotations

from typing import Any, cast

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from keys.imports.checking import MAX_BYTES
from keys.imports.starting import is_stalled
from keys.models import ApiKey, KeyImport, KeyImportRow, KeyImportRowStatus, KeyImportStatus
from keys.selectors import SecretState, secret_reveal_deadline, secret_state
from portal.connections.api import CopySerializer
from portal.rest.serializers import MAX_ID, SyncSerializer, datetime_out

# --- keys ---------------------------------------------------------------------------------------

EXPIRES_AT_HELP = (
    "Optional: from then on API Gateway refuses the key (within a minute), and it is deleted "
    "after the retention (30 days unless the admin set another). ISO 8601, e.g. "
    "2027-01-31T00:00Z (without an offset: UTC); in the future, at most 3 years away."
)


class KeySerializer(serializers.ModelSerializer[ApiKey]):
    id = serializers.UUIDField(source="public_id", read_only=True)
    prefix = serializers.CharField(
        source="display_prefix", read_only=True, help_text="Shown once issued, e.g. “tgkA1b2c”."
    )
    secret = serializers.SerializerMethodField(
        help_text="Always null: the worker generates the secret after the key is created, and "
        "Tollgate never stores it. Its creator fetches it once with POST /api/v1/keys/{id}/reveal."
    )
    secret_state = serializers.SerializerMethodField(
        help_text="not_yours (only the creator may reveal it), revoked, shown, expired, pending "
        "(not issued yet: poll) or ready (reveal it now) — checked in that order."
    )
    secret_reveal_deadline = serializers.SerializerMethodField()
    state = serializers.CharField(
        source="state_label",
        read_only=True,
        help_text="enabled, disabled, expired (its expires_at passed: API Gateway refuses it, "
        "and it is deleted after the retention) or revoked.",
    )
    last_used_on = serializers.DateField(
        read_only=True,
        allow_null=True,
        help_text="The last day the collected usage shows requests; null: none.",
    )
    idle = serializers.BooleanField(
        source="is_idle",
        read_only=True,
        help_text="No requests for 90 days, and at least 90 days old.",
    )
    rotated_from = serializers.UUIDField(
        source="rotated_from.public_id",
        read_only=True,
        allow_null=True,
        help_text="The key this one replaced in a rotation (it continues its quota); null: none.",
    )
    grace_ends_at = serializers.DateTimeField(
        read_only=True,
        allow_null=True,
        help_text="On a key replaced by a rotation: it works until then, then it is deleted.",
    )
    # Nested fields, not methods that build a serializer per key: a page of 50 keys spent
    # most of its 30 ms making 100 serializers' fields.
    sync = SyncSerializer(source="*", read_only=True)
    copies = CopySerializer(
        source="copies.all",
        many=True,
        read_only=True,
        help_text="The key in each account and region its tier covers, all with the same value.",
    )

    class Meta:
        model = ApiKey
        fields = [
            "id",
            "name",
            "customer",
            "prefix",
            "state",
            "enabled",
            "secret",
            "secret_state",
            "secret_reveal_deadline",
            "secret_revealed_at",
            "expires_at",
            "last_used_on",
            "idle",
            "revoked_at",
            "rotated_from",
            "grace_ends_at",
            "created_at",
            "copies",
            "sync",
        ]
        read_only_fields = fields

    def to_representation(self, instance: ApiKey) -> dict[str, Any]:
        """The fields above, read directly: DRF's walk over them (and each copy's and the sync
        block's) was half of a page of 50 keys. tests/api/test_fast_representations.py checks
        this answers exactly what the walk does, for keys in every state."""
        key = instance
        rotated_from = key.rotated_from
        copy = cast(
            CopySerializer, cast(serializers.ListSerializer[Any], self.fields["copies"]).child
        )
        return {
            "id": str(key.public_id),
            "name": key.name,
            "customer": key.customer_id,
            "prefix": key.display_prefix,
            "state": key.state_label,
            "enabled": key.enabled,
            "secret": None,
            "secret_state": self.get_secret_state(key),
            "secret_reveal_deadline": self.get_secret_reveal_deadline(key),
            "secret_revealed_at": datetime_out(key.secret_revealed_at),
            "expires_at": datetime_out(key.expires_at),
            "last_used_on": key.last_used_on.isoformat() if key.last_used_on else None,
            "idle": key.is_idle,
            "revoked_at": datetime_out(key.revoked_at),
            "rotated_from": str(rotated_from.public_id) if rotated_from is not None else None,
            "grace_ends_at": datetime_out(key.grace_ends_at),
            "created_at": datetime_out(key.created_at),
            "copies": [copy.to_representation(each) for each in key.copies.all()],
            "sync": self.fields["sync"].to_representation(key),
        }

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_secret(self, key: ApiKey) -> None:
        return None

    @extend_schema_field(serializers.ChoiceField(choices=SecretState.choices))
    def get_secret_state(self, key: ApiKey) -> str:
        request = self.context.get("request")
        return str(secret_state(key, request.user if request else None))

    @extend_schema_field(serializers.DateTimeField())
    def get_secret_reveal_deadline(self, key: ApiKey) -> str:
        return datetime_out(secret_reveal_deadline(key))  # type: ignore[return-value]


class KeyCreateSerializer(serializers.Serializer[Any]):
    name = serializers.CharField(max_length=200, allow_blank=True)
    customer = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=MAX_ID,
        help_text="Staff only: whose key it is. Customers always create keys for themselves.",
    )
    expires_at = serializers.DateTimeField(
        required=False,
        allow_null=True,
        help_text=EXPIRES_AT_HELP,
    )


class KeyUpdateSerializer(serializers.Serializer[Any]):
    name = serializers.CharField(max_length=200, allow_blank=True, required=False)
    enabled = serializers.BooleanField(
        required=False, help_text="false: API Gateway refuses the key until it is enabled again."
    )
    expires_at = serializers.DateTimeField(
        required=False, allow_null=True, help_text=f"{EXPIRES_AT_HELP} null clears it."
    )


class KeyRotateSerializer(serializers.Serializer[Any]):
    grace = serializers.ChoiceField(
        choices=["none", "1h", "24h", "7d"],
        help_text="How long the old key keeps working: none (retired at once), 1h, 24h or 7d.",
    )


class RevealedSecretSerializer(serializers.Serializer[Any]):
    id = serializers.UUIDField()
    prefix = serializers.CharField()
    secret = serializers.CharField(help_text="Send it in the x-api-key header. Shown only now.")
    invoke_urls = serializers.ListField(child=serializers.CharField())


# --- bulk key imports ---------------------------------------------------------------------------


class KeyImportCreateSerializer(serializers.Serializer[Any]):
    file_name = serializers.CharField(
        max_length=255, required=False, allow_blank=True, help_text="For the record, e.g. keys.csv."
    )
    csv = serializers.CharField(
        trim_whitespace=False,
        max_length=MAX_BYTES,
        help_text="The file itself: a header, then `customer` (a customer's slug), `name`, `key` "
        "(the secret the customer already uses) and optionally `enabled`; at most 10,000 rows "
        "and 2 MB. The secrets are never stored nor shown again.",
    )


class KeyImportRowSerializer(serializers.ModelSerializer[KeyImportRow]):
    """One line of the file and what became of it. Never the secret: its prefix at most."""

    customer = serializers.CharField(source="customer_ref", help_text="As written in the file.")
    customer_id = serializers.IntegerField(allow_null=True)
    status = serializers.ChoiceField(choices=KeyImportRowStatus.choices)
    key_prefix = serializers.CharField(source="display_prefix")
    key = serializers.SerializerMethodField(help_text="The API key's id once imported.")

    class Meta:
        model = KeyImportRow
        fields = ["line", "customer", "customer_id", "name", "enabled", "status", "message"]
        fields += ["key_prefix", "key"]
        read_only_fields = fields

    @extend_schema_field(serializers.UUIDField(allow_null=True))
    def get_key(self, row: KeyImportRow) -> str | None:
        return str(row.key.public_id) if row.key is not None else None


class KeyImportSerializer(serializers.ModelSerializer[KeyImport]):
    status = serializers.ChoiceField(choices=KeyImportStatus.choices)
    imported = serializers.IntegerField(help_text="Rows API Gateway took.")
    stalled = serializers.SerializerMethodField(
        help_text="Queued or running, but no progress for two minutes: POST …/resume."
    )
    created_by = serializers.EmailField(source="created_by.email", allow_null=True, default=None)

    class Meta:
        model = KeyImport
        fields = ["id", "file_name", "status", "total", "done", "imported", "failed", "skipped"]
        fields += ["error", "stalled", "created_by", "created_at", "started_at", "finished_at"]
        read_only_fields = fields

    def get_stalled(self, imp: KeyImport) -> bool:
        return is_stalled(imp)


class KeyImportDetailSerializer(KeyImportSerializer):
    rows = KeyImportRowSerializer(many=True, read_only=True, help_text="Every line, in order.")

    class Meta(KeyImportSerializer.Meta):
        fields = [*KeyImportSerializer.Meta.fields, "rows"]
        read_only_fields = fields
