"""Throttling: API Gateway's token buckets at every level, proven in requests with a faked clock.

A bucket of size `burst` refilled at `rate` tokens a second, starting full, admits exactly
`burst` requests at once and `rate` per second after; a request needs a token at every level
(usage plan or its per-method override, stage method settings, account).
"""

from __future__ import annotations

from typing import Any

import pytest
from moto.apigateway.models import apigateway_backends
from moto.core import DEFAULT_ACCOUNT_ID

from localaws.gateway.buckets import BucketStore, Limit
from localaws.server import LocalAwsServer
from tests.localaws.conftest import REGION
from tests.localaws.gateway_setup import FakeClock, Invoker, Method, create_api, keyed_plan

pytestmark = pytest.mark.integration

TOO_MANY = {"message": "Too Many Requests"}


# -- the bucket itself ------------------------------------------------------------------------


def test_a_bucket_admits_burst_at_once_then_rate_per_second() -> None:
    clock = FakeClock()
    buckets = BucketStore(clock)
    level = [("k", Limit(rate=2.0, burst=5))]

    assert [buckets.take(level) for _ in range(6)] == [True] * 5 + [False]
    clock.advance(1.0)
    assert [buckets.take(level) for _ in range(3)] == [True, True, False]
    clock.advance(0.5)
    assert [buckets.take(level) for _ in range(2)] == [True, False]
    clock.advance(100.0)  # refills to the burst, no further
    assert sum(buckets.take(level) for _ in range(10)) == 5


def test_a_request_takes_a_token_from_every_level_or_from_none() -> None:
    buckets = BucketStore(FakeClock())
    wide, narrow = ("wide", Limit(10.0, 10)), ("narrow", Limit(1.0, 2))

    assert [buckets.take([wide, narrow]) for _ in range(3)] == [True, True, False]
    assert buckets.tokens("wide") == 8.0  # the refused request took nothing


def test_a_new_rate_counts_from_the_configuration_write() -> None:
    clock = FakeClock()
    buckets = BucketStore(clock)
    assert sum(buckets.take([("k", Limit(1.0, 4))]) for _ in range(5)) == 4  # empty
    clock.advance(1.0)  # 1 token at the old rate
    buckets.note_write()  # e.g. UpdateUsagePlan: rate 1 -> 10
    clock.advance(0.5)  # 5 tokens at the new rate, capped by the new burst of 4

    assert sum(buckets.take([("k", Limit(10.0, 4))]) for _ in range(6)) == 4


def test_a_smaller_burst_clamps_the_tokens_and_a_larger_one_does_not_fill_the_bucket() -> None:
    clock = FakeClock()
    buckets = BucketStore(clock)
    assert buckets.take([("k", Limit(1.0, 10))])  # 9 left

    assert sum(buckets.take([("k", Limit(1.0, 3))]) for _ in range(5)) == 3
    assert not buckets.take([("k", Limit(1.0, 100))])
    clock.advance(2.0)
    assert sum(buckets.take([("k", Limit(1.0, 100))]) for _ in range(5)) == 2


# -- through the gateway ----------------------------------------------------------------------


@pytest.fixture
def clock(local_aws: LocalAwsServer, monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    assert local_aws.app is not None
    fake = FakeClock()
    monkeypatch.setattr(local_aws.app.gateway.buckets, "clock", fake)
    return fake


@pytest.fixture
def api(apigw: Any) -> str:
    return create_api(
        apigw,
        [
            Method("/items"),
            Method("/items/{id}"),
            Method("/health", key_required=False),
            Method("/open", key_required=False),
        ],
    )


@pytest.fixture
def invoker(local_aws: LocalAwsServer, api: str) -> Invoker:
    return Invoker(local_aws, api)


def test_the_usage_plan_throttle_admits_burst_then_rate(
    apigw: Any, api: str, invoker: Invoker, clock: FakeClock
) -> None:
    _, key = keyed_plan(
        apigw, [{"apiId": api, "stage": "prod"}], throttle={"rateLimit": 2, "burstLimit": 5}
    )

    assert invoker.statuses(6, "/items", key["value"]) == [200] * 5 + [429]
    refused = invoker.get("/items", key["value"])
    assert refused.json() == TOO_MANY
    assert refused.headers["x-amzn-ErrorType"] == "TooManyRequestsException"
    clock.advance(1.0)
    assert invoker.statuses(3, "/items", key["value"]) == [200, 200, 429]
    clock.advance(0.5)
    assert invoker.statuses(2, "/items/7", key["value"]) == [200, 429]  # one bucket per key


def test_each_key_has_its_own_bucket(
    apigw: Any, api: str, invoker: Invoker, clock: FakeClock
) -> None:
    plan_id, first = keyed_plan(
        apigw, [{"apiId": api, "stage": "prod"}], throttle={"rateLimit": 1, "burstLimit": 2}
    )
    second = apigw.create_api_key(name="second", enabled=True)
    apigw.create_usage_plan_key(usagePlanId=plan_id, keyId=second["id"], keyType="API_KEY")

    assert invoker.statuses(3, "/items", first["value"]) == [200, 200, 429]
    assert invoker.statuses(3, "/items", second["value"]) == [200, 200, 429]


def test_a_throttle_edit_applies_to_the_next_request(
    apigw: Any, api: str, invoker: Invoker, clock: FakeClock
) -> None:
    plan_id, key = keyed_plan(
        apigw, [{"apiId": api, "stage": "prod"}], throttle={"rateLimit": 1, "burstLimit": 10}
    )
    assert invoker.statuses(2, "/items", key["value"]) == [200, 200]  # 8 left

    apigw.update_usage_plan(
        usagePlanId=plan_id,
        patchOperations=[{"op": "replace", "path": "/throttle/burstLimit", "value": "3"}],
    )
    assert invoker.statuses(4, "/items", key["value"]) == [200, 200, 200, 429]

    apigw.update_usage_plan(
        usagePlanId=plan_id,
        patchOperations=[
            {"op": "replace", "path": "/throttle/rateLimit", "value": "20"},
            {"op": "replace", "path": "/throttle/burstLimit", "value": "20"},
        ],
    )
    clock.advance(0.5)  # 10 tokens at the new rate, counted from the edit
    assert invoker.statuses(11, "/items", key["value"]) == [200] * 10 + [429]


def test_a_per_method_throttle_overrides_the_plan_for_that_method(
    apigw: Any, api: str, invoker: Invoker, clock: FakeClock
) -> None:
    stage = {
        "apiId": api,
        "stage": "prod",
        "throttle": {"/items/{id}/GET": {"rateLimit": 1, "burstLimit": 1}},
    }
    _, key = keyed_plan(apigw, [stage], throttle={"rateLimit": 100, "burstLimit": 100})

    assert invoker.statuses(2, "/items/1", key["value"]) == [200, 429]
    assert invoker.statuses(5, "/items", key["value"]) == [200] * 5
    clock.advance(1.0)
    assert invoker.statuses(2, "/items/2", key["value"]) == [200, 429]


def test_stage_method_settings_throttle_each_method(
    apigw: Any, api: str, invoker: Invoker, clock: FakeClock
) -> None:
    apigw.update_stage(
        restApiId=api,
        stageName="prod",
        patchOperations=[
            {"op": "replace", "path": "/*/*/throttling/rateLimit", "value": "1"},
            {"op": "replace", "path": "/*/*/throttling/burstLimit", "value": "2"},
            {"op": "replace", "path": "/~1open/GET/throttling/rateLimit", "value": "5"},
            {"op": "replace", "path": "/~1open/GET/throttling/burstLimit", "value": "4"},
        ],
    )

    assert invoker.statuses(3, "/health") == [200, 200, 429]  # the stage-wide */* setting
    assert invoker.statuses(5, "/open") == [200] * 4 + [429]  # its own setting
    clock.advance(1.0)
    assert invoker.statuses(2, "/health") == [200, 429]
    assert invoker.get("/health").json() == TOO_MANY


def test_the_account_throttle_covers_every_api_of_the_region(
    apigw: Any, api: str, invoker: Invoker, clock: FakeClock, local_aws: LocalAwsServer
) -> None:
    # AWS sets account limits itself (raised through Support, not the API), so set moto's.
    account = apigateway_backends[DEFAULT_ACCOUNT_ID][REGION].account
    account.throttle_settings = {"rateLimit": 1.0, "burstLimit": 3}
    other = Invoker(local_aws, create_api(apigw, [Method("/x", key_required=False)], name="Other"))

    assert invoker.statuses(2, "/health") + other.statuses(2, "/x") == [200, 200, 200, 429]
    clock.advance(1.0)
    assert other.statuses(2, "/x") == [200, 429]


def test_the_default_account_throttle_is_awss(apigw: Any) -> None:
    assert apigw.get_account()["throttleSettings"] == {"burstLimit": 5000, "rateLimit": 10000.0}
