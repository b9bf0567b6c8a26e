"""The console's stage list: offering and withdrawing a stage, and who may (plans.views)."""

from __future__ import annotations

from typing import Any

from django.urls import reverse

from plans.models import ApiStage
from portal.accounts.models import User
from tests.conftest import login


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
