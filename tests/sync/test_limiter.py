"""The shared AWS rate budget: both backends on a fake clock, the botocore hook, the task retry."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest
import redis
from celery.exceptions import Retry

from localaws.testing import LocalAwsControl
from plans.models import Plan
from portal.aws import apigateway as aws
from portal.aws.clients import reset_clients
from portal.aws.errors import AwsNotFound
from portal.aws.limiter import (
    AWS_RATE_LIMITS,
    Budget,
    LocalRateLimiter,
    RateBudgetWait,
    RateLimiter,
    RedisRateLimiter,
    configured_budgets,
    get_limiter,
    set_limiter,
)
from portal.errors import TransientSyncError
from portal.sync import BUDGET_WAITS_HEADER, MAX_TRANSIENT_RETRIES, SyncStatus, run_sync_task

# Redis runs here and in CI; db 15 is this file's own.
REDIS_URL = "redis://127.0.0.1:6379/15"


class FakeClock:
    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds

    def sleep(self, seconds: float) -> None:
        """A sleep that takes no time: it only moves the fake clock."""
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture(autouse=True)
def _fresh_process_limiter() -> Iterator[None]:
    """No test leaves its limiter behind for the API Gateway calls of later tests."""
    set_limiter(None)
    yield
    set_limiter(None)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    prefix = f"tollgate:limiter:test-{uuid.uuid4().hex[:12]}:"
    yield prefix
    client = redis.Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter(match=f"{prefix}*"))
    if keys:
        client.delete(*keys)
    client.close()


@pytest.fixture(params=["local", "redis"])
def make_limiter(request: pytest.FixtureRequest, clock: FakeClock, redis_prefix: str) -> Any:
    """Build a limiter of the parametrised backend on the fake clock, AWS's published budgets."""

    def make(budgets: Any = AWS_RATE_LIMITS, **kwargs: Any) -> RateLimiter:
        kwargs.setdefault("sleep", clock.sleep)
        if request.param == "redis":
            return RedisRateLimiter(
                budgets, redis_url=REDIS_URL, prefix=redis_prefix, clock=clock, **kwargs
            )
        return LocalRateLimiter(budgets, clock=clock, **kwargs)

    return make


def granted(limiter: RateLimiter, operation: str, times: int) -> int:
    return sum(limiter.reserve(operation) == 0.0 for _ in range(times))


# --- the buckets ---------------------------------------------------------------------------


def test_all_calls_burst_to_40_then_refill_at_10_per_second(
    make_limiter: Any, clock: FakeClock
) -> None:
    limiter = make_limiter()
    assert granted(limiter, "GetUsagePlan", 40) == 40
    assert limiter.reserve("GetUsagePlan") == pytest.approx(0.1)

    clock.advance(1.0)
    assert granted(limiter, "GetUsagePlan", 10) == 10
    assert limiter.reserve("GetApiKeys") == pytest.approx(0.1)

    clock.advance(0.25)
    assert granted(limiter, "GetUsagePlans", 3) == 2  # 2.5 tokens refilled


def test_create_api_key_is_capped_at_5_per_second_while_all_has_tokens(
    make_limiter: Any, clock: FakeClock
) -> None:
    limiter = make_limiter()
    assert granted(limiter, "CreateApiKey", 5) == 5
    assert limiter.reserve("CreateApiKey") == pytest.approx(0.2)
    assert limiter.reserve("GetApiKey") == 0.0  # "all" still holds 34 tokens

    clock.advance(0.2)
    assert limiter.reserve("CreateApiKey") == 0.0
    assert limiter.reserve("CreateApiKey") == pytest.approx(0.2)
    assert limiter.reserve("DeleteApiKey") == 0.0  # a budget of its own


def test_update_usage_plan_waits_the_exact_remainder_of_20_seconds(
    make_limiter: Any, clock: FakeClock
) -> None:
    limiter = make_limiter()
    assert limiter.reserve("UpdateUsagePlan") == 0.0
    assert limiter.reserve("UpdateUsagePlan") == pytest.approx(20.0)

    clock.advance(7.0)
    assert limiter.reserve("UpdateUsagePlan") == pytest.approx(13.0)

    clock.advance(13.0)
    assert limiter.reserve("UpdateUsagePlan") == 0.0
    assert limiter.reserve("UpdateUsagePlan") == pytest.approx(20.0)


def test_a_denied_reservation_takes_nothing_from_any_bucket(
    make_limiter: Any, clock: FakeClock
) -> None:
    limiter = make_limiter()
    # Denied by its own bucket: "all" keeps its tokens.
    assert limiter.reserve("UpdateUsagePlan") == 0.0
    for _ in range(50):
        assert limiter.reserve("UpdateUsagePlan") > 0
    assert granted(limiter, "GetUsagePlan", 40) == 39  # 40 less the one granted update

    # Denied by "all": CreateApiKey keeps its 5 tokens.
    for _ in range(20):
        assert limiter.reserve("CreateApiKey") == pytest.approx(0.1)
    clock.advance(1.0)  # "all" refills 10
    assert granted(limiter, "CreateApiKey", 5) == 5
    assert limiter.reserve("CreateApiKey") == pytest.approx(0.2)  # now its own bucket limits


def test_a_clock_that_goes_back_refills_nothing(make_limiter: Any, clock: FakeClock) -> None:
    limiter = make_limiter()
    assert limiter.reserve("UpdateUsagePlan") == 0.0
    clock.advance(-3600)  # another host's clock, behind ours
    assert limiter.reserve("UpdateUsagePlan") == pytest.approx(20.0)
    clock.advance(3600 + 20)
    assert limiter.reserve("UpdateUsagePlan") == 0.0


def test_an_operation_in_no_table_counts_only_toward_all(make_limiter: Any) -> None:
    limiter = make_limiter({"all": Budget(rate=1, burst=2)})
    assert limiter.reserve("UpdateUsagePlan") == 0.0
    assert limiter.reserve("UpdateUsagePlan") == 0.0
    assert limiter.reserve("GetUsagePlan") == pytest.approx(1.0)


# --- acquire ------------------------------------------------------------------------------


def test_acquire_raises_rate_budget_wait_for_a_long_wait(
    make_limiter: Any, clock: FakeClock
) -> None:
    limiter = make_limiter()
    limiter.acquire("UpdateUsagePlan")
    clock.advance(5.0)
    with pytest.raises(RateBudgetWait) as caught:
        limiter.acquire("UpdateUsagePlan")

    assert caught.value.retry_after == pytest.approx(15.0)
    assert caught.value.operation == "UpdateUsagePlan"
    assert isinstance(caught.value, TransientSyncError)
    assert str(caught.value) == "Waiting for the AWS rate budget (UpdateUsagePlan: 1 per 20 s)"
    assert clock.sleeps == []


def test_acquire_sleeps_through_a_short_wait(make_limiter: Any, clock: FakeClock) -> None:
    limiter = make_limiter()
    for _ in range(5):
        limiter.acquire("CreateApiKey")
    assert clock.sleeps == []

    limiter.acquire("CreateApiKey")
    assert clock.sleeps == [pytest.approx(0.2)]
    assert limiter.reserve("CreateApiKey") == pytest.approx(0.2)  # the token was taken


def test_acquire_names_the_all_budget_when_it_limits(make_limiter: Any, clock: FakeClock) -> None:
    limiter = make_limiter(max_inline_wait=0.05)
    for _ in range(40):
        limiter.acquire("GetUsagePlan")
    with pytest.raises(RateBudgetWait, match=r"all API Gateway calls: 10/s") as caught:
        limiter.acquire("CreateApiKey")
    assert caught.value.retry_after == pytest.approx(0.1)


def test_acquire_stops_sleeping_once_its_inline_waits_add_up(
    make_limiter: Any, clock: FakeClock
) -> None:
    # Another worker takes every token freed meanwhile: here, a sleep that lets no time pass.
    slept: list[float] = []
    limiter = make_limiter(max_inline_wait=0.5, sleep=slept.append)
    for _ in range(5):
        limiter.acquire("DeleteApiKey")
    with pytest.raises(RateBudgetWait):
        limiter.acquire("DeleteApiKey")
    assert slept == [pytest.approx(0.2), pytest.approx(0.2)]


def test_rate_budget_wait_survives_pickling() -> None:
    import pickle

    exc = pickle.loads(pickle.dumps(RateBudgetWait("UpdateUsagePlan", 12.5, "UpdateUsagePlan")))
    assert (exc.operation, exc.retry_after, str(exc)) == (
        "UpdateUsagePlan",
        12.5,
        "Waiting for the AWS rate budget (UpdateUsagePlan)",
    )


# --- configuration ------------------------------------------------------------------------


def test_budgets_read_like_the_aws_table() -> None:
    assert str(AWS_RATE_LIMITS["UpdateUsagePlan"]) == "1 per 20 s"
    assert str(AWS_RATE_LIMITS["CreateApiKey"]) == "5/s"
    assert AWS_RATE_LIMITS["all"] == Budget(rate=10, burst=40)


def test_a_setting_overrides_the_budgets(settings: Any) -> None:
    set_limiter(LocalRateLimiter(AWS_RATE_LIMITS))
    settings.TOLLGATE = {
        **settings.TOLLGATE,
        "AWS_RATE_LIMITS": {
            "UpdateUsagePlan": {"rate": 1, "burst": 2},
            "DeleteApiKey": None,
            "CreateUsagePlan": Budget(rate=2, burst=2),
        },
    }
    budgets = configured_budgets()
    assert budgets["UpdateUsagePlan"] == Budget(rate=1, burst=2)
    assert "DeleteApiKey" not in budgets
    assert budgets["CreateUsagePlan"] == Budget(rate=2, burst=2)
    assert budgets["all"] == AWS_RATE_LIMITS["all"]
    # Changing the setting drops the process-wide limiter; the next one reads the new table.
    assert get_limiter().budgets == budgets


def test_the_backend_follows_redis_url(settings: Any) -> None:
    settings.REDIS_URL = ""
    assert isinstance(get_limiter(), LocalRateLimiter)
    settings.REDIS_URL = REDIS_URL
    assert isinstance(get_limiter(), RedisRateLimiter)


# --- the botocore hook --------------------------------------------------------------------


class Recording(LocalRateLimiter):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(AWS_RATE_LIMITS, **kwargs)
        self.operations: list[str] = []

    def acquire(self, operation: str, *, scope: str = "") -> None:
        self.operations.append(operation)
        super().acquire(operation, scope=scope)


@pytest.fixture
def recording(control: LocalAwsControl) -> Iterator[Recording]:
    """The app's client pointed at a wiped local AWS, with a limiter that records calls."""
    reset_clients()
    limiter = Recording(clock=FakeClock())
    set_limiter(limiter)
    yield limiter
    reset_clients()


@pytest.mark.integration
def test_every_api_gateway_call_passes_the_limiter(
    recording: Recording, control: LocalAwsControl
) -> None:
    assert aws.find_usage_plan("plan:1") is None
    assert aws.list_stages() == []
    with pytest.raises(AwsNotFound):
        aws.update_usage_plan("nope", [{"op": "replace", "path": "/name", "value": "x"}])

    sent = ["GetUsagePlans", "GetRestApis", "UpdateUsagePlan"]
    assert recording.operations == sent
    assert [call["operation"] for call in control.calls()] == sent


@pytest.mark.integration
def test_a_budget_wait_leaves_the_call_unsent_and_reaches_the_caller_as_is(
    recording: Recording, control: LocalAwsControl
) -> None:
    assert recording.reserve("UpdateUsagePlan") == 0.0  # someone else just updated a plan

    with pytest.raises(RateBudgetWait) as caught:
        aws.update_usage_plan("nope", [{"op": "replace", "path": "/name", "value": "x"}])

    assert caught.value.retry_after == pytest.approx(20.0)
    assert control.calls() == []


# --- the sync task ------------------------------------------------------------------------


class FakeTask:
    def __init__(self, retries: int, budget_waits: int | None = None) -> None:
        headers = {} if budget_waits is None else {BUDGET_WAITS_HEADER: budget_waits}
        self.request = SimpleNamespace(retries=retries, headers=headers or None, **headers)
        self.retried: dict[str, Any] = {}

    def retry(self, **kwargs: Any) -> Retry:
        self.retried = kwargs
        return Retry()


def test_a_budget_wait_retries_after_it_and_never_fails_the_tier(
    tiers: dict[str, Plan],
) -> None:
    plan = tiers["Premium"]
    task = FakeTask(retries=MAX_TRANSIENT_RETRIES + 5, budget_waits=MAX_TRANSIENT_RETRIES + 5)

    def push(plan: Plan) -> None:
        raise RateBudgetWait("UpdateUsagePlan", 17.0, "UpdateUsagePlan: 1 per 20 s")

    with pytest.raises(Retry):
        run_sync_task(task, Plan, plan.pk, push)

    assert 17.0 < task.retried["countdown"] <= 17.8
    assert task.retried["headers"] == {BUDGET_WAITS_HEADER: MAX_TRANSIENT_RETRIES + 6}
    plan.refresh_from_db()
    assert plan.sync_status == SyncStatus.PENDING
    assert plan.sync_error == "Waiting for the AWS rate budget (UpdateUsagePlan: 1 per 20 s)"


def test_budget_waits_do_not_count_as_attempts(tiers: dict[str, Plan]) -> None:
    plan = tiers["Premium"]
    # 14 retries, 13 of them budget waits: a throttled call now is the second attempt.
    task = FakeTask(retries=MAX_TRANSIENT_RETRIES + 2, budget_waits=MAX_TRANSIENT_RETRIES + 1)

    def push(plan: Plan) -> None:
        raise TransientSyncError("API Gateway throttled the request (UpdateUsagePlan)")

    with pytest.raises(Retry):
        run_sync_task(task, Plan, plan.pk, push)

    assert task.retried["countdown"] <= 0.1 * 2  # backoff_seconds(1) in the test settings
    plan.refresh_from_db()
    assert plan.sync_status == SyncStatus.PENDING
    assert plan.sync_error.startswith("Retrying: ")


def test_a_task_without_budget_waits_counts_every_retry(tiers: dict[str, Plan]) -> None:
    plan = tiers["Premium"]
    task = FakeTask(retries=MAX_TRANSIENT_RETRIES)

    def push(plan: Plan) -> None:
        raise TransientSyncError("API Gateway throttled the request (UpdateUsagePlan)")

    run_sync_task(task, Plan, plan.pk, push)  # gave up: no retry

    plan.refresh_from_db()
    assert plan.sync_status == SyncStatus.FAILED
    assert "gave up after 13 attempts" in plan.sync_error
