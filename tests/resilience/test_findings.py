"""Deterministic reproductions of races found by the resilience tests (see bench/README.md)."""

from __future__ import annotations

import time
from typing import Any

import pytest

from keys.models import ApiKey
from keys.services import key_create, key_rename, key_revoke
from keys.sync import api_key_spec, push_key
from localaws.testing import LocalAwsControl
from plans.models import Plan
from plans.services import subscription_switch
from portal import sync
from portal.connections.copies import AnswerAwaited
from portal.errors import TransientSyncError
from portal.reconcile.services import reconcile
from portal.sync import SyncStatus, converge
from tests.resilience.conftest import make_customers
from tests.resilience.helpers import read_aws

pytestmark = pytest.mark.integration


@pytest.fixture
def no_tasks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Services send nothing: the test drives every sync itself, in order."""
    monkeypatch.setattr(sync, "send_task", lambda name, *args: None)


def test_a_create_that_lands_after_the_key_was_revoked_is_deleted_by_the_revoke(
    live_tiers: dict[str, Plan],
    control: LocalAwsControl,
    apigw: Any,
    fast_budgets: None,
    short_read_timeout: float,
    no_tasks: None,
) -> None:
    """CreateApiKey times out on our side but AWS applies it later; meanwhile the key is revoked.

    The revoke's sync used to find nothing to delete (the create had not landed yet) and mark
    the key synced; then the create landed, an enabled key tagged as ours for a revoked row,
    left for the reconcile. Now the revoke waits until the unanswered create must have landed,
    then finds it by its tag and deletes it.
    """
    (customer,) = make_customers(1)
    key = key_create(actor=None, customer=customer, name="doomed")
    control.add_fault("CreateApiKey", status=None, delay_seconds=short_read_timeout * 3)
    with pytest.raises(TransientSyncError):
        converge(ApiKey, key.pk, push_key, attempt=0)  # read timeout; AWS still working on it
    key_revoke(actor=None, key=key)
    with pytest.raises(AnswerAwaited) as waited:
        converge(ApiKey, key.pk, push_key, attempt=0)
    key.refresh_from_db()
    assert key.sync_status == SyncStatus.PENDING
    time.sleep(waited.value.retry_after + 0.2)  # the create has landed by now
    owner = api_key_spec(key).owner_id
    assert read_aws(apigw).tag_counts()[owner] == 1

    converge(ApiKey, key.pk, push_key, attempt=0)

    key.refresh_from_db()
    assert key.sync_status == SyncStatus.SYNCED
    assert read_aws(apigw).tag_counts()[owner] == 0, "revoked key still in AWS"
    assert reconcile().summary()["removed"] == 0


def test_a_late_leave_of_the_old_tier_cannot_take_the_key_out_of_its_tier(
    live_tiers: dict[str, Plan],
    control: LocalAwsControl,
    apigw: Any,
    fast_budgets: None,
    short_read_timeout: float,
    no_tasks: None,
) -> None:
    """A customer moves from Free to Premium and straight back. Leaving Free (DeleteUsagePlanKey)
    goes unanswered and AWS applies it later. The move back used to read AWS at once, find the
    key still in Free and mark it synced; then the late delete landed and the key was in no
    usage plan while its row said synced (the drift test_faults.py met about once in six runs).
    """
    free, premium = live_tiers["Free"], live_tiers["Premium"]
    (customer,) = make_customers(1)
    key = key_create(actor=None, customer=customer, name="mover")
    converge(ApiKey, key.pk, push_key, attempt=0)
    key.refresh_from_db()
    assert read_aws(apigw).members[key.aws_id] == {free.aws_id}

    subscription_switch(actor=None, customer=customer, plan=premium, by_staff=True)
    control.add_fault("DeleteUsagePlanKey", status=None, delay_seconds=short_read_timeout * 3)
    with pytest.raises(TransientSyncError):
        converge(ApiKey, key.pk, push_key, attempt=0)  # leaving Free: no answer in time
    subscription_switch(actor=None, customer=customer, plan=free, by_staff=True)
    with pytest.raises(AnswerAwaited) as waited:
        converge(ApiKey, key.pk, push_key, attempt=0)
    key.refresh_from_db()
    assert key.sync_status == SyncStatus.PENDING
    assert "did not answer" in key.copies.get().error
    time.sleep(waited.value.retry_after + 0.2)

    converge(ApiKey, key.pk, push_key, attempt=0)

    key.refresh_from_db()
    assert key.sync_status == SyncStatus.SYNCED
    assert read_aws(apigw).members.get(key.aws_id) == {free.aws_id}
    assert reconcile().summary()["drifted"] == 0


def test_a_sync_that_read_the_row_before_taking_the_lock_cannot_push_an_old_state(
    live_tiers: dict[str, Plan],
    control: LocalAwsControl,
    apigw: Any,
    monkeypatch: pytest.MonkeyPatch,
    no_tasks: None,
) -> None:
    """Two deliveries of sync_key (a retry and the sweep, say) on two workers.

    A reads the row (v1), and is paused before it takes the object lock. Meanwhile the key is
    renamed (v2) and B syncs v2 completely and releases the lock. A then takes the lock and
    pushes what it read: v1. The row stays "synced v2" while AWS holds v1's description.
    """
    (customer,) = make_customers(1)
    key = key_create(actor=None, customer=customer, name="old name")
    converge(ApiKey, key.pk, push_key, attempt=0)
    key_rename(actor=None, key=key, name="middle name")  # v2, pending: A will read this one

    real_lock = sync.object_lock
    calls = {"n": 0}

    def lock_after_a_rival(name: str, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 1:  # A, paused between its read and its lock: B runs meanwhile
            key_rename(actor=None, key=ApiKey.objects.get(pk=key.pk), name="new name")  # v3
            converge(ApiKey, key.pk, push_key, attempt=0)  # B: pushes v3, marks it synced
        return real_lock(name, **kwargs)

    monkeypatch.setattr(sync, "object_lock", lock_after_a_rival)
    converge(ApiKey, key.pk, push_key, attempt=0)  # A

    key.refresh_from_db()
    assert key.name == "new name" and key.sync_status == SyncStatus.SYNCED
    in_aws = read_aws(apigw).keys[key.aws_id]
    assert in_aws["description"] == api_key_spec(key).description, (
        f"AWS holds {in_aws['description']!r}, an older state, while the row says synced"
    )
