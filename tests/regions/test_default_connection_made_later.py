"""Copies made before any connection row existed (connection blank: the settings' default
account) are the default connection's copies once it exists: a later sync keeps them."""

from __future__ import annotations

from typing import Any

import pytest

from keys.models import ApiKey, KeyCopy
from keys.services import key_create, key_rename
from plans.models import Plan, PlanCopy
from plans.services import plan_update
from portal.accounts.models import User
from portal.connections.models import AwsConnection
from portal.connections.services import connection_default
from portal.customers.models import Customer
from portal.sync import SyncStatus

pytestmark = pytest.mark.integration


def test_a_key_synced_before_the_default_connection_existed_survives_its_next_sync(
    owner: User, initech: Customer, live_tiers: dict[str, Plan], apigw: Any, settle: Any
) -> None:
    key = key_create(actor=owner, customer=initech, name="production")
    settle()
    key.refresh_from_db()
    assert not AwsConnection.objects.exists()
    assert list(KeyCopy.objects.filter(key=key).values_list("connection_id", flat=True)) == [None]
    value = apigw.get_api_key(apiKey=key.aws_id, includeValue=True)["value"]

    connection_default()  # someone opens the AWS page: the default connection is made
    key_rename(actor=owner, key=ApiKey.objects.get(pk=key.pk), name="prod")
    free = live_tiers["Free"]
    plan_update(actor=None, plan=free, data={"throttle_burst": 6}, stages=list(free.stages.all()))
    settle()

    key.refresh_from_db()
    assert key.sync_status == SyncStatus.SYNCED, key.sync_error
    assert KeyCopy.objects.filter(key=key).count() == 1
    assert PlanCopy.objects.filter(plan=free).count() == 1
    found = apigw.get_api_key(apiKey=key.aws_id, includeValue=True)
    assert found["value"] == value and found["description"] == "Initech: prod"
    members = apigw.get_usage_plan_keys(usagePlanId=Plan.objects.get(pk=free.pk).aws_id)
    assert [item["id"] for item in members["items"]] == [key.aws_id]
