"""The console's sync status partials (portal.console.views): polling while pending, and retry."""

from __future__ import annotations

from django.urls import reverse

from keys.models import ApiKey
from keys.services import key_create
from plans.models import Plan
from portal.accounts.models import User
from portal.customers.models import Customer
from portal.sync import SyncStatus
from tests.conftest import login


def test_it_retries_a_failed_object(admin: User, alice: User, acme: Customer) -> None:
    key = key_create(actor=alice, customer=acme, name="production")
    ApiKey.objects.filter(pk=key.pk).update(sync_status=SyncStatus.FAILED, sync_error="boom")
    response = login(admin).post(
        reverse("console:sync-retry", args=["key", key.pk]), HTTP_HX_REQUEST="true"
    )
    key.refresh_from_db()
    assert key.sync_status == SyncStatus.PENDING
    assert key.desired_version == 2
    assert 'hx-trigger="every 1s"' in response.content.decode()


def test_ops_cannot_retry(ops: User, alice: User, acme: Customer) -> None:
    key = key_create(actor=alice, customer=acme, name="production")
    assert login(ops).post(reverse("console:sync-retry", args=["key", key.pk])).status_code == 403


def test_an_unknown_kind_is_not_found(admin: User) -> None:
    assert login(admin).get(reverse("console:sync-status", args=["user", 1])).status_code == 404


def test_a_pending_status_polls_and_a_synced_one_stops(admin: User, tiers: dict[str, Plan]) -> None:
    plan = tiers["Free"]
    url = reverse("console:sync-status", args=["tier", plan.pk])
    assert "every 1s" in login(admin).get(url).content.decode()
    Plan.objects.filter(pk=plan.pk).update(sync_status=SyncStatus.SYNCED)
    assert "every 1s" not in login(admin).get(url).content.decode()
