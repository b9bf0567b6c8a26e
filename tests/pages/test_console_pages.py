"""The console: who may read it, the stage list, customers, and the sync status partials."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from keys.models import ApiKey
from keys.services import key_create
from plans.models import ApiStage, Plan
from portal.accounts.models import User
from portal.customers.models import Customer
from portal.sync import SyncStatus
from tests.conftest import login

READ_PAGES = ["console:overview", "console:stages", "console:tiers", "console:customers"]


@pytest.mark.parametrize("route", READ_PAGES)
def test_staff_read_every_console_page(admin: User, ops: User, route: str) -> None:
    for user in (admin, ops):
        assert login(user).get(reverse(route)).status_code == 200


@pytest.mark.parametrize("route", READ_PAGES)
def test_customers_cannot_read_the_console(alice: User, route: str) -> None:
    assert login(alice).get(reverse(route)).status_code == 403


@pytest.mark.parametrize("route", READ_PAGES)
def test_anonymous_people_must_sign_in(client: Client, db: None, route: str) -> None:
    response = client.get(reverse(route))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_the_customer_page_shows_keys_and_their_sync_status(
    admin: User, alice: User, acme: Customer
) -> None:
    key = key_create(actor=alice, customer=acme, name="production")
    ApiKey.objects.filter(pk=key.pk).update(
        sync_status=SyncStatus.FAILED,
        sync_error="API Gateway rejected the request (CreateApiKey): boom",
    )
    page = login(admin).get(reverse("console:customer", args=[acme.pk])).content.decode()
    assert "production" in page
    assert "Failed" in page
    assert "boom" in page
    assert "Retry" in page
    listing = login(admin).get(reverse("console:customers")).content.decode()
    assert "1 failed" in listing


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


def test_withdrawing_a_stage_used_by_a_tier_is_refused(
    admin: User, stage: ApiStage, tiers: Any
) -> None:
    response = login(admin).post(
        reverse("console:stage-availability", args=[stage.pk]), {"available": "0"}, follow=True
    )
    stage.refresh_from_db()
    assert stage.available is True
    assert (
        "Tiers Enterprise, Free, Premium cover this stage; remove it from them first."
        in response.content.decode()
    )


def test_an_unused_stage_can_be_offered_and_withdrawn(admin: User, db: None) -> None:
    stage = ApiStage.objects.create(
        region="us-east-1", rest_api_id="r1", stage_name="v1", api_name="API"
    )
    client = login(admin)
    client.post(reverse("console:stage-availability", args=[stage.pk]), {"available": "1"})
    stage.refresh_from_db()
    assert stage.available
    client.post(reverse("console:stage-availability", args=[stage.pk]), {"available": "0"})
    stage.refresh_from_db()
    assert not stage.available


def test_a_stage_gone_from_aws_cannot_be_offered(admin: User, db: None) -> None:
    from django.utils import timezone

    stage = ApiStage.objects.create(
        region="us-east-1",
        rest_api_id="r1",
        stage_name="v1",
        api_name="API",
        missing_since=timezone.now(),
    )
    response = login(admin).post(
        reverse("console:stage-availability", args=[stage.pk]), {"available": "1"}, follow=True
    )
    stage.refresh_from_db()
    assert not stage.available
    assert "This stage no longer exists in AWS; it cannot be offered." in response.content.decode()


def test_ops_cannot_refresh_or_offer_stages(ops: User, stage: ApiStage) -> None:
    client = login(ops)
    assert client.post(reverse("console:stage-refresh")).status_code == 403
    assert (
        client.post(
            reverse("console:stage-availability", args=[stage.pk]), {"available": "0"}
        ).status_code
        == 403
    )
