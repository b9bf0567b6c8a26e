"""The AWS rate budget against the local AWS: bursts of edits reach AWS within AWS's limits."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest
import redis
from django.conf import settings

import portal.sync
from localaws.testing import LocalAwsControl
from plans.models import ApiStage, Plan
from plans.services import plan_create, plan_update
from plans.stages import stage_set_available, stages_discover
from plans.sync import push_plan
from portal.aws.clients import apigateway, reset_clients
from portal.aws.limiter import (
    AWS_RATE_LIMITS,
    Budget,
    LocalRateLimiter,
    RateBudgetWait,
    RateLimiter,
    RedisRateLimiter,
    set_limiter,
)
from portal.sync import MAX_TRANSIENT_RETRIES, SyncStatus, converge
from tests.conftest import PREMIUM

pytestmark = pytest.mark.integration


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += max(0.0, seconds)


def _backends() -> list[Any]:
    return [
        "local",
        pytest.param(
            "redis",
            marks=pytest.mark.skipif(
                not settings.REDIS_URL, reason="REDIS_URL is not set (CI sets it)"
            ),
        ),
    ]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def limiter_on(clock: FakeClock) -> Iterator[Callable[..., RateLimiter]]:
    """Install a limiter of the given backend on the fake clock for every API Gateway call."""
    prefix = f"tollgate:limiter:test-{uuid.uuid4().hex[:12]}:"
    made: list[RateLimiter] = []

    def install(backend: str, budgets: Any = AWS_RATE_LIMITS, **kwargs: Any) -> RateLimiter:
        kwargs.setdefault("clock", clock)
        kwargs.setdefault("sleep", clock.advance)  # an inline wait takes no real time
        limiter: RateLimiter
        if backend == "redis":
            limiter = RedisRateLimiter(
                budgets, redis_url=settings.REDIS_URL, prefix=prefix, **kwargs
            )
        else:
            limiter = LocalRateLimiter(budgets, **kwargs)
        set_limiter(limiter)
        made.append(limiter)
        return limiter

    yield install
    set_limiter(None)
    if settings.REDIS_URL:
        client = redis.Redis.from_url(settings.REDIS_URL)
        keys = list(client.scan_iter(match=f"{prefix}*"))
        if keys:
            client.delete(*keys)
        client.close()


@pytest.fixture
def offered_stage(db: None, demo_api: tuple[str, str]) -> ApiStage:
    """The demo API's stage, discovered and offered inside the test transaction (no worker)."""
    stages_discover()
    stage = ApiStage.objects.get(rest_api_id=demo_api[0], stage_name=demo_api[1])
    return stage_set_available(actor=None, stage=stage, available=True)


def converge_all(plans: list[Plan], clock: FakeClock, *, rounds: int = 50) -> list[float]:
    """Converge every tier as the sync tasks would, moving the fake clock over budget waits.

    Every converge runs as the last attempt a task gets: a budget wait must still never fail it.
    Returns the waits asked for.
    """
    waits: list[float] = []
    for _ in range(rounds):
        pending = [p for p in plans if Plan.objects.get(pk=p.pk).sync_status == SyncStatus.PENDING]
        if not pending:
            return waits
        asked: list[float] = []
        for plan in pending:
            try:
                converge(Plan, plan.pk, push_plan, attempt=MAX_TRANSIENT_RETRIES)
            except RateBudgetWait as exc:
                asked.append(exc.retry_after)
                row = Plan.objects.get(pk=plan.pk)
                assert row.sync_status == SyncStatus.PENDING
                assert row.sync_error == (
                    "Waiting for the AWS rate budget (UpdateUsagePlan: 1 per 20 s)"
                )
        waits += asked
        if asked:
            clock.advance(min(asked))
    raise AssertionError(f"tiers still pending after {rounds} rounds")


@pytest.mark.parametrize("backend", _backends())
def test_five_tiers_edited_within_a_second_reach_aws_one_update_per_20_seconds(
    backend: str,
    offered_stage: ApiStage,
    apigw: Any,
    control: LocalAwsControl,
    clock: FakeClock,
    limiter_on: Callable[..., RateLimiter],
) -> None:
    limiter_on(backend)
    # When each UpdateUsagePlan left for AWS, on the limiter's clock.
    sent_at: list[float] = []
    reset_clients()
    apigateway().meta.events.register(
        "before-send.api-gateway.UpdateUsagePlan", lambda **_: sent_at.append(clock())
    )
    try:
        plans = [
            plan_create(actor=None, data=dict(PREMIUM, name=f"Tier {n}"), stages=[offered_stage])
            for n in range(5)
        ]
        converge_all(plans, clock)
        assert not sent_at  # creating sends CreateUsagePlan only
        control.clear_calls()

        for plan in plans:
            data = dict(
                PREMIUM,
                name=f"{plan.name} v2",
                description="Edited",
                throttle_rate=Decimal("12.5"),
                throttle_burst=25,
                quota_limit=5000,
                quota_period="WEEK",
            )
            plan_update(actor=None, plan=plan, data=data, stages=[offered_stage])
        started = clock()
        waits = converge_all(plans, clock)
    finally:
        reset_clients()

    # The limiter held UpdateUsagePlan to 1 per 20 s, and did so by waiting, not by failing.
    assert len(sent_at) == 5
    gaps = [b - a for a, b in zip(sent_at, sent_at[1:], strict=False)]
    assert all(gap >= 20.0 - 1e-6 for gap in gaps), gaps
    assert sent_at[0] == started  # the budget was full: the first went at once
    assert sent_at[-1] - started == pytest.approx(80.0)
    assert waits  # four tiers waited, each round

    # Each tier reached AWS with all its changes, in one UpdateUsagePlan call of its own.
    updates = control.calls("UpdateUsagePlan")
    assert len(updates) == 5
    assert all(call["status"] == 200 for call in updates)
    for plan in plans:
        plan.refresh_from_db()
        assert plan.sync_status == SyncStatus.SYNCED
        assert plan.sync_error == ""
        usage_plan = apigw.get_usage_plan(usagePlanId=plan.aws_id)
        assert usage_plan["name"] == plan.name
        assert usage_plan["name"].endswith(" v2")
        assert usage_plan["description"] == "Edited"
        assert usage_plan["throttle"] == {"rateLimit": 12.5, "burstLimit": 25}
        assert usage_plan["quota"] == {"limit": 5000, "period": "WEEK", "offset": 0}
    assert sorted(call["path"] for call in updates) == sorted(
        f"/usageplans/{plan.aws_id}" for plan in plans
    )


def test_a_celery_retry_after_a_budget_wait_is_not_counted_as_an_attempt(
    live_stage: ApiStage,
    apigw: Any,
    settle: Any,
    limiter_on: Callable[..., RateLimiter],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Through the real worker: the budget-wait counter travels in the retried task's headers."""
    import time

    # A budget that frees up 4 s from now: however long the worker takes to pick the task up
    # (up to 3 s), the wait left is longer than a worker blocks for (1 s), so the task retries.
    limiter = limiter_on(
        "local",
        {**AWS_RATE_LIMITS, "CreateUsagePlan": Budget(rate=1 / 4, burst=1)},
        clock=time.monotonic,
        sleep=time.sleep,
    )
    assert limiter.reserve("CreateUsagePlan") == 0.0
    attempts: list[int] = []
    real_converge = portal.sync.converge

    def recording(*args: Any, attempt: int, **kwargs: Any) -> None:
        attempts.append(attempt)
        real_converge(*args, attempt=attempt, **kwargs)

    monkeypatch.setattr(portal.sync, "converge", recording)

    plan = plan_create(actor=None, data=dict(PREMIUM), stages=[live_stage])
    settle()

    plan.refresh_from_db()
    assert plan.sync_status == SyncStatus.SYNCED
    assert plan.sync_error == ""
    assert [p["name"] for p in apigw.get_usage_plans()["items"]] == ["Premium"]
    assert attempts[0] == 0 and len(attempts) >= 2
    assert set(attempts) == {0}  # the task's retries were budget waits, not attempts
