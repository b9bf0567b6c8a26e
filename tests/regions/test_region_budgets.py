"""Each account and region spends its own AWS rate budget (AWS's quotas are per account and
region): a region whose budget is spent does not delay calls elsewhere, in the limiter, in real
clients made inside `at(location)`, and in a key's sync across two regions. The clock is fake,
so nothing here waits for a budget to refill."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from keys.models import ApiKey, KeyCopy
from keys.services import key_create
from localaws.demo_estate import (
    EU_REGION,
    MAIN_REGION,
    PARTNER_ACCOUNT_ID,
    PARTNER_EXTERNAL_ID,
    PARTNER_ROLE_ARN,
    DemoEstate,
)
from localaws.testing import LocalAwsControl
from plans.models import Plan
from plans.services import subscription_switch
from portal.accounts.models import User
from portal.aws import apigateway as aws
from portal.aws.clients import reset_clients
from portal.aws.limiter import (
    AWS_RATE_LIMITS,
    LocalRateLimiter,
    RateBudgetWait,
    RateLimiter,
    RedisRateLimiter,
    set_limiter,
)
from portal.aws.location import Location, at
from portal.customers.models import Customer
from portal.customers.services import customer_onboard
from portal.sync import SyncStatus
from tests.conftest import make_user, wait_until
from tests.regions.conftest import copies, value_in
from tests.sync.test_limiter import REDIS_URL, FakeClock

PARTNER_SCOPE = f"{PARTNER_ACCOUNT_ID}/{MAIN_REGION}"
Regional = Callable[[str], Any]


class Recording(LocalRateLimiter):
    """Never sleeps (a wait is a RateBudgetWait at once) and records what each call asked."""

    def __init__(self, clock: FakeClock) -> None:
        super().__init__(AWS_RATE_LIMITS, clock=clock, sleep=clock.sleep, max_inline_wait=0.0)
        self.calls: list[tuple[str, str, float]] = []  # operation, scope, fake time

    def acquire(self, operation: str, *, scope: str = "") -> None:
        self.calls.append((operation, scope, self.clock()))
        super().acquire(operation, scope=scope)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def recording(clock: FakeClock) -> Iterator[Recording]:
    reset_clients()
    limiter = Recording(clock)
    set_limiter(limiter)
    yield limiter
    set_limiter(None)
    reset_clients()


@pytest.fixture(params=["local", "redis"])
def limiter(request: pytest.FixtureRequest, clock: FakeClock) -> Iterator[RateLimiter]:
    if request.param == "local":
        yield LocalRateLimiter(AWS_RATE_LIMITS, clock=clock, sleep=clock.sleep)
        return
    prefix = f"tollgate:limiter:test-{uuid.uuid4().hex[:12]}:"
    shared = RedisRateLimiter(
        AWS_RATE_LIMITS, redis_url=REDIS_URL, prefix=prefix, clock=clock, sleep=clock.sleep
    )
    yield shared
    leftover = list(shared.redis.scan_iter(match=f"{prefix}*"))
    if leftover:
        shared.redis.delete(*leftover)
    shared.redis.close()


def granted(limiter: RateLimiter, operation: str, times: int, scope: str) -> int:
    return sum(limiter.reserve(operation, scope=scope) == 0.0 for _ in range(times))


def test_a_spent_region_leaves_the_other_regions_and_accounts_their_whole_budget(
    limiter: RateLimiter, clock: FakeClock
) -> None:
    assert granted(limiter, "CreateApiKey", 5, MAIN_REGION) == 5
    assert limiter.reserve("CreateApiKey", scope=MAIN_REGION) == pytest.approx(0.2)
    assert granted(limiter, "GetApiKeys", 35, MAIN_REGION) == 35  # "all": 40 spent
    assert limiter.reserve("GetApiKeys", scope=MAIN_REGION) == pytest.approx(0.1)

    # Same instant, other places: each bucket is full.
    for scope in (EU_REGION, PARTNER_SCOPE):
        assert granted(limiter, "CreateApiKey", 5, scope) == 5, scope
        assert granted(limiter, "GetApiKeys", 35, scope) == 35, scope
    assert clock.sleeps == []
    # ...and spending them took nothing more from us-east-1's.
    clock.advance(0.15)  # 1.5 tokens refilled
    assert granted(limiter, "GetApiKeys", 2, MAIN_REGION) == 1


@pytest.mark.integration
def test_real_clients_wait_only_in_the_region_whose_budget_is_spent(
    recording: Recording, clock: FakeClock, control: LocalAwsControl, estate: DemoEstate
) -> None:
    assert granted(recording, "GetUsagePlans", 40, MAIN_REGION) == 40
    control.clear_calls()

    with at(Location(MAIN_REGION)), pytest.raises(RateBudgetWait) as waited:
        aws.list_usage_plans()
    with at(Location(EU_REGION)):
        assert aws.list_usage_plans() == []
    partner = Location(MAIN_REGION, role_arn=PARTNER_ROLE_ARN, external_id=PARTNER_EXTERNAL_ID)
    with at(partner):
        assert aws.list_usage_plans() == []

    assert waited.value.retry_after == pytest.approx(0.1)
    now = clock()
    assert recording.calls == [
        ("GetUsagePlans", MAIN_REGION, now),
        ("GetUsagePlans", EU_REGION, now),
        ("GetUsagePlans", PARTNER_SCOPE, now),
    ]
    assert clock.sleeps == []
    # us-east-1's call was never sent; the others went to their own region and account.
    sent = [(c["region"], c["account"]) for c in control.calls("GetUsagePlans")]
    assert sent == [(EU_REGION, "123456789012"), (MAIN_REGION, PARTNER_ACCOUNT_ID)]


@pytest.fixture
def umbrella(region_tiers: dict[str, Plan], settle: Any) -> tuple[User, Customer]:
    owner = make_user("ana@umbrella.test")
    customer = customer_onboard(owner=owner, organisation_name="Umbrella")
    subscription_switch(actor=None, customer=customer, plan=region_tiers["Global"], by_staff=True)
    settle()
    return owner, customer


def waiting_in_east(key: ApiKey) -> bool:
    east = KeyCopy.objects.filter(key=key, region=MAIN_REGION).first()
    return east is not None and "rate budget" in east.error


def done_in_west(key: ApiKey) -> bool:
    # The sync pushes us-east-1 first, so its wait is recorded before eu-west-1 is done.
    west = KeyCopy.objects.filter(key=key, region=EU_REGION).exclude(aws_id="").first()
    return west is not None and west.synced_version >= 1


@pytest.mark.integration
def test_a_key_sync_goes_ahead_in_eu_west_1_while_us_east_1_waits_for_its_budget(
    umbrella: tuple[User, Customer],
    recording: Recording,
    clock: FakeClock,
    regional: Regional,
    settle: Any,
) -> None:
    owner, customer = umbrella
    assert granted(recording, "CreateApiKey", 5, MAIN_REGION) == 5  # others just made keys

    key = key_create(actor=owner, customer=customer, name="fleet")
    wait_until(
        lambda: waiting_in_east(key) and done_in_west(key),
        what="the us-east-1 copy to wait for its budget while eu-west-1 is made",
    )

    key.refresh_from_db()
    west = copies(key)[EU_REGION]
    assert west.synced_version == key.desired_version and west.error == "" and west.aws_id
    assert key.sync_status == SyncStatus.PENDING  # waiting is not failing
    assert ("CreateApiKey", EU_REGION, clock()) in recording.calls

    clock.advance(0.3)  # a CreateApiKey token back in us-east-1 (0.2 s each)
    settle()

    key.refresh_from_db()
    east = copies(key)[MAIN_REGION]
    assert key.sync_status == SyncStatus.SYNCED
    assert east.synced_version == key.desired_version and east.error == ""
    assert value_in(regional(MAIN_REGION), east.aws_id) == value_in(
        regional(EU_REGION), west.aws_id
    )
    assert clock.sleeps == []
