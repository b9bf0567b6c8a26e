"""API keys reach API Gateway and sit in their tier's usage plan, read back over HTTP."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from keys.models import ApiKey
from keys.services import (
    SecretUnavailable,
    key_create,
    key_rename,
    key_reveal_secret,
    key_revoke,
    key_set_enabled,
)
from localaws.testing import LocalAwsControl
from plans.models import Plan
from plans.services import subscription_switch
from portal.accounts.models import User
from portal.customers.models import Customer
from portal.sync import SyncStatus
from tests.conftest import make_user

pytestmark = pytest.mark.integration


def plan_key_ids(apigw: Any, plan: Plan) -> set[str]:
    return {item["id"] for item in apigw.get_usage_plan_keys(usagePlanId=plan.aws_id)["items"]}


def test_a_new_key_joins_the_default_tier(
    owner: User, initech: Customer, live_tiers: dict[str, Plan], apigw: Any, settle: Any
) -> None:
    key = key_create(actor=owner, customer=initech, name="production")
    settle()
    key.refresh_from_db()

    assert key.sync_status == SyncStatus.SYNCED
    aws_key = apigw.get_api_key(apiKey=key.aws_id, includeValue=True)
    assert aws_key["enabled"] is True
    assert aws_key["description"] == "Initech: production"
    assert aws_key["tags"] == {"tollgate:id": f"key:{key.public_id}"}
    assert key.secret_sha256 == hashlib.sha256(aws_key["value"].encode()).hexdigest()
    assert key.display_prefix == aws_key["value"][:8] and key.display_prefix.startswith("tgk")
    assert plan_key_ids(apigw, live_tiers["Free"]) == {key.aws_id}
    assert plan_key_ids(apigw, live_tiers["Premium"]) == set()


def test_the_secret_is_revealed_once_to_its_creator(
    owner: User, initech: Customer, apigw: Any, settle: Any
) -> None:
    key = key_create(actor=owner, customer=initech, name="production")
    settle()
    key.refresh_from_db()
    teammate = make_user("erin@initech.test")

    with pytest.raises(SecretUnavailable):
        key_reveal_secret(actor=teammate, key=key)
    secret = key_reveal_secret(actor=owner, key=key)
    assert secret == apigw.get_api_key(apiKey=key.aws_id, includeValue=True)["value"]
    key.refresh_from_db()
    assert key.secret_revealed_at is not None
    with pytest.raises(SecretUnavailable):
        key_reveal_secret(actor=owner, key=key)


def test_switching_tier_moves_every_key(
    owner: User, initech: Customer, live_tiers: dict[str, Plan], apigw: Any, settle: Any
) -> None:
    keys = [key_create(actor=owner, customer=initech, name=n) for n in ("a", "b")]
    settle()
    subscription_switch(actor=owner, customer=initech, plan=live_tiers["Premium"])
    settle()

    aws_ids = {ApiKey.objects.get(pk=k.pk).aws_id for k in keys}
    assert plan_key_ids(apigw, live_tiers["Premium"]) == aws_ids
    assert plan_key_ids(apigw, live_tiers["Free"]) == set()
    assert all(k.sync_status == SyncStatus.SYNCED for k in ApiKey.objects.all())


def test_rename_and_disable_reach_aws(
    owner: User, initech: Customer, apigw: Any, settle: Any
) -> None:
    key = key_create(actor=owner, customer=initech, name="production")
    settle()
    key_rename(actor=owner, key=key, name="prod eu")
    key_set_enabled(actor=owner, key=key, enabled=False)
    settle()

    key.refresh_from_db()
    aws_key = apigw.get_api_key(apiKey=key.aws_id)
    assert aws_key["description"] == "Initech: prod eu"
    assert aws_key["enabled"] is False


def test_revoking_deletes_the_key_from_aws(
    owner: User, initech: Customer, live_tiers: dict[str, Plan], apigw: Any, settle: Any
) -> None:
    key = key_create(actor=owner, customer=initech, name="production")
    settle()
    key.refresh_from_db()
    key_revoke(actor=owner, key=key)
    settle()

    key.refresh_from_db()
    assert key.sync_status == SyncStatus.SYNCED
    assert key.aws_id not in {k["id"] for k in apigw.get_api_keys()["items"]}
    assert plan_key_ids(apigw, live_tiers["Free"]) == set()


def test_a_key_created_twice_by_a_crash_is_adopted(
    owner: User, initech: Customer, apigw: Any, control: LocalAwsControl, settle: Any
) -> None:
    control.add_fault("CreateApiKey", status=500, after_apply=True, times=1)
    key = key_create(actor=owner, customer=initech, name="production")
    settle(timeout=60)
    key.refresh_from_db()

    assert key.sync_status == SyncStatus.SYNCED
    assert [k["id"] for k in apigw.get_api_keys()["items"]] == [key.aws_id]
    value = apigw.get_api_key(apiKey=key.aws_id, includeValue=True)["value"]
    assert key.secret_sha256 == hashlib.sha256(value.encode()).hexdigest()


def test_a_key_failing_in_aws_shows_failed_then_retries(
    owner: User, initech: Customer, apigw: Any, control: LocalAwsControl, settle: Any
) -> None:
    from keys.services import key_retry_sync

    control.add_fault(
        "CreateApiKey", status=400, code="BadRequestException", message="Bad key", times=1
    )
    key = key_create(actor=owner, customer=initech, name="production")
    settle()
    key.refresh_from_db()
    assert key.sync_status == SyncStatus.FAILED
    assert "Bad key" in key.sync_error

    key_retry_sync(actor=owner, key=key)
    settle()
    key.refresh_from_db()
    assert key.sync_status == SyncStatus.SYNCED
    assert len(apigw.get_api_keys()["items"]) == 1
