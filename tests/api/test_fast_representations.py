"""The serializers that build their answer directly (for the speed of long lists) answer exactly
what DRF's walk over their declared fields does: the fields stay the one description of the
shape (and the schema's), and a field added there but not to the fast path fails here."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.utils import timezone
from rest_framework import serializers
from rest_framework.test import APIRequestFactory

from keys.api.serializers import KeySerializer
from keys.models import ApiKey, KeyCopy
from keys.services import key_create
from portal.accounts.models import User
from portal.connections.api import CopySerializer
from portal.connections.models import AwsConnection
from portal.rest.serializers import SyncSerializer

FAST = (KeySerializer, CopySerializer, SyncSerializer)


def walked(monkeypatch: pytest.MonkeyPatch, build: Any) -> Any:
    """What `build()` answers when every fast serializer walks its fields as DRF does."""
    with monkeypatch.context() as patched:
        for cls in FAST:
            walk = cls.__mro__[1].to_representation  # type: ignore[attr-defined]
            patched.setattr(cls, "to_representation", walk)
        return build()


@pytest.fixture
def keys(alice: User, acme_key: ApiKey) -> list[ApiKey]:
    """Keys in every state a list shows (set on the rows: only the answer is under test): with
    copies in two accounts (one behind), paused with an expiry and its secret shown, a
    replacement in its grace and used lately, and revoked."""
    partner = AwsConnection.objects.create(
        name="Partner",
        role_arn="arn:aws:iam::222222222222:role/TollgateAccess",
        regions=["eu-west-1"],
        account_id="222222222222",
    )
    KeyCopy.objects.create(key=acme_key, region="us-east-1", aws_id="k1", synced_version=1)
    KeyCopy.objects.create(key=acme_key, connection=partner, region="eu-west-1", error="Denied")
    now = timezone.now()
    ApiKey.objects.filter(pk=acme_key.pk).update(
        enabled=False, expires_at=now + datetime.timedelta(days=3), secret_revealed_at=now
    )
    successor = key_create(actor=alice, customer=acme_key.customer, name="next")
    ApiKey.objects.filter(pk=successor.pk).update(
        rotated_from=acme_key,
        grace_ends_at=now + datetime.timedelta(hours=1),
        last_used_on=now.date(),
        sync_status="failed",
        sync_error="Throttled",
    )
    gone = key_create(actor=alice, customer=acme_key.customer, name="old")
    ApiKey.objects.filter(pk=gone.pk).update(revoked_at=now)
    return list(
        ApiKey.objects.select_related("rotated_from")
        .prefetch_related("copies__connection")
        .order_by("pk")
    )


@pytest.mark.parametrize("who", ["admin", "alice"])
def test_the_key_list_answers_what_the_field_walk_does(
    monkeypatch: pytest.MonkeyPatch, keys: list[ApiKey], who: str, request: Any
) -> None:
    person = request.getfixturevalue(who)
    asked = APIRequestFactory().get("/api/v1/keys")
    asked.user = person

    def answer() -> Any:
        return KeySerializer(keys, many=True, context={"request": asked}).data

    fast = answer()
    assert [dict(key) for key in fast] == [dict(key) for key in walked(monkeypatch, answer)]
    assert {copy["state"] for key in fast for copy in key["copies"]} >= {"in_sync", "behind"}
    assert any(key["rotated_from"] for key in fast) and any(key["revoked_at"] for key in fast)
    staff = who == "admin"
    assert any(copy["aws_id"] for key in fast for copy in key["copies"]) is staff


def test_a_base_without_its_own_walk_is_a_drf_serializer() -> None:
    """`walked` reaches DRF's walk one class up: if a fast serializer ever gains a base of ours
    in between, this says so before the comparison above silently compares the fast path."""
    for cls in FAST:
        assert cls.__mro__[1] in (serializers.Serializer, serializers.ModelSerializer)
