"""Shapes every domain's API shares: the one error body, the sync block, the largest id."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from portal.sync import SyncStatus

MAX_ID = 2**63 - 1  # the largest primary key: a bigger number in a body or a filter is a 400


class ProblemSerializer(serializers.Serializer[Any]):
    """Every error: problem details (RFC 9457 in spirit), with field errors when there are any."""

    type = serializers.CharField(help_text="A stable code, e.g. validation_error, not_found.")
    title = serializers.CharField(help_text="The HTTP status in words.")
    detail = serializers.CharField(help_text="What went wrong, for a person.")
    errors = serializers.DictField(  # type: ignore[assignment]
        child=serializers.ListField(child=serializers.CharField()),
        help_text="Field name → messages; empty unless fields were wrong.",
    )


_DATETIME = serializers.DateTimeField()


def datetime_out(value: Any) -> str | None:
    """A datetime as DateTimeField answers it (ISO 8601 in the current time zone), None kept."""
    return None if value is None else _DATETIME.to_representation(value)


class SyncSerializer(serializers.Serializer[Any]):
    """Where a synced object (a tier, a key) stands with API Gateway (portal.sync.SyncState)."""

    status = serializers.ChoiceField(choices=SyncStatus.choices, source="sync_status")
    error = serializers.CharField(source="sync_error")
    desired_version = serializers.IntegerField()
    synced_version = serializers.IntegerField()
    synced_at = serializers.DateTimeField(allow_null=True)

    def to_representation(self, instance: Any) -> dict[str, Any]:
        """The fields above, read directly: a list of 50 keys walked them field by field
        (tests/api/test_fast_representations.py checks it answers what the walk does)."""
        return {
            "status": str(instance.sync_status),
            "error": str(instance.sync_error),
            "desired_version": int(instance.desired_version),
            "synced_version": int(instance.synced_version),
            "synced_at": datetime_out(instance.synced_at),
        }
