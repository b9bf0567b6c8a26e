from __future__ import annotations

from typing import Any

import pytest

from plans.models import ApiStage, Plan
from plans.services import plan_create, stage_set_available, stages_discover
from tests.conftest import FREE, PREMIUM


@pytest.fixture
def live_stage(worker: Any, demo_api: tuple[str, str]) -> ApiStage:
    """The demo API's stage, discovered from the local AWS and offered to tiers."""
    stages_discover()
    stage = ApiStage.objects.get(rest_api_id=demo_api[0], stage_name=demo_api[1])
    return stage_set_available(actor=None, stage=stage, available=True)


@pytest.fixture
def live_tiers(live_stage: ApiStage, settle: Any) -> dict[str, Plan]:
    plans = {
        spec["name"]: plan_create(actor=None, data=dict(spec), stages=[live_stage])
        for spec in (FREE, PREMIUM)
    }
    settle()
    for plan in plans.values():
        plan.refresh_from_db()
    return plans
