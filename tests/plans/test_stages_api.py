"""Stages through the API (/api/v1/stages/{id}): offered to tiers, withdrawn only when unused."""

from __future__ import annotations

from typing import Any

from plans.models import ApiStage
from portal.accounts.models import User
from tests.fixtures.api import api_as


def test_an_admin_withdraws_a_stage_only_when_no_tier_covers_it(
    admin: User, stage: ApiStage, tiers: Any
) -> None:
    response = api_as(admin).patch(f"/api/v1/stages/{stage.pk}", {"available": False})

    assert response.status_code == 400
    assert response.json()["detail"] == (
        "Tiers Enterprise, Free, Premium cover this stage; remove it from them first."
    )
    other = ApiStage.objects.create(
        region="us-east-1", rest_api_id="xyz", stage_name="dev", api_name="Weather API"
    )
    response = api_as(admin).patch(f"/api/v1/stages/{other.pk}", {"available": True})
    assert (response.status_code, response.json()["available"]) == (200, True)
