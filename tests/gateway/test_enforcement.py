"""What an admin sets in Tollgate is what the gateway enforces: real requests through the local
API Gateway's data plane, with keys Tollgate created and tiers it synced.

Every request here goes over HTTP to the deployed demo stage (path-style invoke address of the
local AWS server), with the key's secret as a client would send it. Throttles are counted in
requests admitted from a rapid series: the bucket starts full at `burst` and refills at `rate`
per second, so a series of N requests sent within well under a second admits about `burst` and
refuses the rest (the exact token arithmetic is proven with a faked clock in
tests/localaws/test_gateway_throttle.py).
"""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any

import pytest
import requests

from keys.models import ApiKey
from keys.services import key_create, key_reveal_secret, key_revoke, key_set_enabled
from localaws.server import LocalAwsServer
from plans.models import ApiStage, Plan
from plans.services import plan_update, subscription_switch
from portal.accounts.models import User
from portal.customers.models import Customer
from portal.usage.selectors import customer_usage
from portal.usage.services import collect_usage
from tests.conftest import login, wait_until

pytestmark = pytest.mark.integration

RAPID_SERIES = 30


class StageClient:
    """A customer's HTTP client for the demo stage's GET /cities."""

    def __init__(self, local_aws: LocalAwsServer, stage: ApiStage, secret: str | None) -> None:
        self.url = (
            f"{local_aws.endpoint_url}/restapis/{stage.rest_api_id}/{stage.stage_name}"
            "/_user_request_/cities"
        )
        self.session = requests.Session()
        self.headers = {"x-api-key": secret} if secret is not None else {}

    def call(self) -> requests.Response:
        return self.session.get(self.url, headers=self.headers, timeout=10)

    def admitted_of_rapid_series(self, count: int = RAPID_SERIES) -> int:
        statuses = [self.call().status_code for _ in range(count)]
        assert set(statuses) <= {200, 429}, statuses
        return statuses.count(200)


def synced_key(owner: User, customer: Customer, settle: Any, name: str = "production") -> ApiKey:
    key = key_create(actor=owner, customer=customer, name=name)
    settle()
    key.refresh_from_db()
    return key


def client_for(
    key: ApiKey, owner: User, local_aws: LocalAwsServer, live_stage: ApiStage
) -> StageClient:
    return StageClient(local_aws, live_stage, key_reveal_secret(actor=owner, key=key))


def wait_for_refill(plan: Plan) -> None:
    assert plan.throttle_burst is not None and plan.throttle_rate is not None
    time.sleep(plan.throttle_burst / float(plan.throttle_rate) + 0.2)


def test_a_new_key_works_as_soon_as_its_sync_is_done(
    owner: User, initech: Customer, local_aws: LocalAwsServer, live_stage: ApiStage, settle: Any
) -> None:
    key = synced_key(owner, initech, settle)
    response = client_for(key, owner, local_aws, live_stage).call()

    assert response.status_code == 200, response.text
    assert response.json()  # the stage's MOCK answer, not an empty body


def test_no_key_or_a_wrong_key_is_forbidden(
    local_aws: LocalAwsServer, live_stage: ApiStage, live_tiers: dict[str, Plan]
) -> None:
    for secret in (None, "tgk-not-a-key-of-this-account"):
        response = StageClient(local_aws, live_stage, secret).call()
        assert response.status_code == 403
        assert response.json() == {"message": "Forbidden"}


def test_a_paused_key_is_forbidden_within_seconds_and_works_again_when_enabled(
    owner: User, initech: Customer, local_aws: LocalAwsServer, live_stage: ApiStage, settle: Any
) -> None:
    key = synced_key(owner, initech, settle)
    client = client_for(key, owner, local_aws, live_stage)
    assert client.call().status_code == 200

    key_set_enabled(actor=owner, key=key, enabled=False)
    wait_until(lambda: client.call().status_code == 403, 10, "the paused key to be refused")
    assert client.call().json() == {"message": "Forbidden"}

    key_set_enabled(actor=owner, key=ApiKey.objects.get(pk=key.pk), enabled=True)
    wait_until(lambda: client.call().status_code == 200, 10, "the enabled key to work again")


def test_a_revoked_key_is_forbidden(
    owner: User, initech: Customer, local_aws: LocalAwsServer, live_stage: ApiStage, settle: Any
) -> None:
    key = synced_key(owner, initech, settle)
    client = client_for(key, owner, local_aws, live_stage)
    assert client.call().status_code == 200

    key_revoke(actor=owner, key=key)
    settle()

    assert client.call().status_code == 403


def test_moving_from_free_to_premium_raises_the_throttle_the_client_sees(
    owner: User,
    initech: Customer,
    live_tiers: dict[str, Plan],
    local_aws: LocalAwsServer,
    live_stage: ApiStage,
    settle: Any,
) -> None:
    free, premium = live_tiers["Free"], live_tiers["Premium"]
    key = synced_key(owner, initech, settle)
    client = client_for(key, owner, local_aws, live_stage)

    on_free = client.admitted_of_rapid_series()
    response = client.call()
    assert response.status_code == 429
    assert response.json() == {"message": "Too Many Requests"}

    subscription_switch(actor=None, customer=initech, plan=premium, by_staff=True)
    settle()
    on_premium = client.admitted_of_rapid_series()

    # Free: burst 5 at 2 req/s; Premium: burst 100 at 50 req/s.
    assert free.throttle_burst == 5
    assert 5 <= on_free <= 7
    assert on_premium == RAPID_SERIES


def test_a_throttle_edit_in_tollgate_changes_when_429s_start(
    owner: User,
    initech: Customer,
    live_tiers: dict[str, Plan],
    local_aws: LocalAwsServer,
    live_stage: ApiStage,
    settle: Any,
) -> None:
    free = live_tiers["Free"]
    key = synced_key(owner, initech, settle)
    client = client_for(key, owner, local_aws, live_stage)
    before = client.admitted_of_rapid_series()

    free = plan_update(
        actor=None,
        plan=free,
        data={"throttle_rate": Decimal("20"), "throttle_burst": 15},
        stages=[live_stage],
    )
    settle()
    wait_for_refill(free)
    after = client.admitted_of_rapid_series()

    assert 5 <= before <= 7
    # 15 at once, plus what 20 req/s refills while the series is sent.
    assert 15 <= after < RAPID_SERIES


def test_a_spent_quota_answers_limit_exceeded_and_the_usage_page_shows_it(
    owner: User,
    initech: Customer,
    live_tiers: dict[str, Plan],
    local_aws: LocalAwsServer,
    live_stage: ApiStage,
    settle: Any,
) -> None:
    plan_update(
        actor=None,
        plan=live_tiers["Free"],
        data={
            "quota_limit": 12,
            "quota_period": "DAY",
            "throttle_rate": Decimal("100"),
            "throttle_burst": 100,
        },
        stages=[live_stage],
    )
    settle()
    key = synced_key(owner, initech, settle)
    client = client_for(key, owner, local_aws, live_stage)

    statuses = [client.call().status_code for _ in range(15)]
    refused = client.call()

    assert statuses == [200] * 12 + [429] * 3
    assert refused.status_code == 429
    assert refused.json() == {"message": "Limit Exceeded"}

    collect_usage()
    (key_usage,) = customer_usage(initech).keys
    assert (key_usage.used, key_usage.quota, key_usage.remaining) == (12, 12, 0)
    assert key_usage.exhausted
    page = login(owner).get("/app/usage/").content.decode()
    assert "<strong>12</strong> of 12 requests" in page
    assert "The quota is used up" in page
