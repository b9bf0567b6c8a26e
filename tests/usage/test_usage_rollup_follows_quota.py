"""A tier's quota change rebuilds its roll-ups at once (portal/usage/receivers.py), through a task
that waits for a collection holding the roll-ups' lock rather than count a change twice."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from celery.exceptions import Retry

from plans.models import ApiStage, Plan
from plans.services import plan_update
from portal.sync import object_lock
from portal.usage import tasks
from portal.usage.rollups import ROLL_UP_LOCK

REBUILD = "portal.usage.tasks.refresh_usage_totals"


@pytest.fixture
def rebuilds(sent_tasks: list[tuple[str, tuple[Any, ...]]]) -> Callable[[], list[int]]:
    """One entry per rebuild sent so far (the other tasks a tier change sends are left out)."""
    return lambda: [1 for name, _ in sent_tasks if name == REBUILD]


def test_a_quota_change_sends_one_rebuild_after_commit(
    tiers: dict[str, Plan],
    stage: ApiStage,
    rebuilds: Callable[[], list[int]],
    django_capture_on_commit_callbacks: Any,
) -> None:
    free = tiers["Free"]
    with django_capture_on_commit_callbacks(execute=True):
        plan_update(actor=None, plan=free, data={"quota_limit": 1234}, stages=[stage])
    assert rebuilds() == [1]
    with django_capture_on_commit_callbacks(execute=True):
        plan_update(actor=None, plan=free, data={"description": "Just a new text"}, stages=[stage])
    assert rebuilds() == [1], "a change that leaves the quota alone rebuilds nothing"


def test_the_rebuild_waits_for_a_running_collection(tiers: dict[str, Plan]) -> None:
    with object_lock(ROLL_UP_LOCK, ttl_seconds=60) as acquired:
        assert acquired
        with pytest.raises(Retry):
            tasks.refresh_usage_totals.apply(throw=True).get()
    assert tasks.refresh_usage_totals.apply(throw=True).get() == []
