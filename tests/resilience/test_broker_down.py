"""Changes made while the broker is unreachable are kept, and synced once it is back.

The services commit regardless (enqueue_on_commit logs the send error); the rows stay pending;
the sweep (portal.sync.sweep_pending) sends them again once the broker answers.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from keys.models import ApiKey
from keys.services import key_create, key_rename, key_set_enabled
from localaws.testing import LocalAwsControl
from plans.models import Plan
from plans.services import plan_update, subscription_switch
from portal import sync
from portal.celery import app as celery_app
from portal.sync import SyncStatus, sweep_pending
from tests.resilience.conftest import make_customers
from tests.resilience.helpers import assert_aws_equals_db, wait_worker_idle

pytestmark = pytest.mark.integration
# Celery keeps its producer pools in private attributes; the tests reset them (typed loosely).
app_any: Any = celery_app

REFUSED = "redis://127.0.0.1:1/0"  # nothing listens on port 1: connection refused at once


def point_producers_at(url: str) -> None:
    """Send tasks to `url` from now on. The worker keeps consuming from the real broker."""
    # broker_write_url: Celery prefers the CELERY_BROKER_URL environment variable (set in CI)
    # over conf.broker_url, but conf.broker_write_url over both for sending.
    app_any.conf.broker_write_url = url
    app_any._pool = None  # the producer pool is built once from broker_url; forget it
    app_any.amqp._producer_pool = None


class BrokerSwitch:
    def __init__(self) -> None:
        self.real = app_any.conf.broker_write_url

    def down(self, url: str = REFUSED) -> None:
        point_producers_at(url)

    def restore(self) -> None:
        point_producers_at(self.real)


@pytest.fixture
def broker() -> Iterator[BrokerSwitch]:
    switch = BrokerSwitch()
    yield switch
    switch.restore()


def timed(fn: Any, **kwargs: Any) -> tuple[Any, float]:
    started = time.monotonic()
    result = fn(**kwargs)
    return result, time.monotonic() - started


def test_changes_made_while_the_broker_is_down_are_synced_by_the_sweep(
    live_tiers: dict[str, Plan],
    worker: Any,
    control: LocalAwsControl,
    apigw: Any,
    settle: Any,
    broker: BrokerSwitch,
    monkeypatch: pytest.MonkeyPatch,
    fast_budgets: None,
) -> None:
    customers = make_customers(2)
    existing = [key_create(actor=None, customer=customers[0], name=f"old {n}") for n in range(10)]
    settle()
    premium = live_tiers["Premium"]
    control.clear_calls()

    broker.down(REFUSED)
    timings: dict[str, float] = {}
    new_keys = []
    for n in range(5):
        key, timings[f"key_create {n}"] = timed(
            key_create, actor=None, customer=customers[1], name=f"new {n}"
        )
        new_keys.append(key)
    _, timings["key_rename"] = timed(key_rename, actor=None, key=existing[0], name="renamed")
    _, timings["key_set_enabled"] = timed(
        key_set_enabled, actor=None, key=existing[1], enabled=False
    )
    _, timings["plan_update"] = timed(
        plan_update,
        actor=None,
        plan=premium,
        data={"throttle_rate": Decimal("77"), "throttle_burst": 154},
        stages=list(premium.stages.all()),
    )
    # 10 keys: 10 sends, each failing on its own
    _, timings["subscription_switch (10 keys)"] = timed(
        subscription_switch, actor=None, customer=customers[0], plan=premium, by_staff=True
    )
    for name, seconds in timings.items():
        print(f"broker down: {name} took {seconds:.2f}s")

    time.sleep(1.0)
    assert control.calls() == [], "nothing can have reached AWS: no task was sent"
    pending = {
        "keys": ApiKey.objects.filter(sync_status=SyncStatus.PENDING).count(),
        "tiers": Plan.objects.filter(sync_status=SyncStatus.PENDING).count(),
    }
    assert pending == {"keys": 5 + 10, "tiers": 1}, pending
    single = {k: v for k, v in timings.items() if not k.startswith("subscription_switch")}
    assert max(single.values()) < 2.0, f"a service call blocked on the dead broker: {timings}"

    broker.restore()
    monkeypatch.setattr(sync, "SWEEP_AFTER", timedelta(0))
    sent = sweep_pending()
    print(f"sweep sent {sent}")
    assert sent == {"plans.plan": 1, "keys.apikey": 15}
    settle(timeout=60)
    assert_aws_equals_db(apigw)
    wait_worker_idle()


def test_a_tier_switch_with_the_broker_down_does_not_block_per_key(
    live_tiers: dict[str, Plan],
    worker: Any,
    settle: Any,
    broker: BrokerSwitch,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    (customer,) = make_customers(1)
    for n in range(10):
        key_create(actor=None, customer=customer, name=f"key {n}")
    settle()
    broker.down(REFUSED)
    _, seconds = timed(
        subscription_switch,
        actor=None,
        customer=customer,
        plan=live_tiers["Premium"],
        by_staff=True,
    )
    broker.restore()
    print(f"subscription_switch of a customer with 10 keys, broker down: {seconds:.2f}s")
    assert seconds < 2.0
    # The keys wait for the sweep, which sends them once the broker is back.
    monkeypatch.setattr(sync, "SWEEP_AFTER", timedelta(0))
    monkeypatch.setattr(sync, "_broker_down_until", 0.0)
    assert sweep_pending()["keys.apikey"] == 10
    settle()


def test_a_hung_broker_does_not_hold_a_service_call(
    live_tiers: dict[str, Plan],
    worker: Any,
    broker: BrokerSwitch,
) -> None:
    (customer,) = make_customers(1)
    hung = socket.socket()  # accepts TCP connections (the kernel does) and never answers
    hung.bind(("127.0.0.1", 0))
    hung.listen(64)
    broker.down(f"redis://127.0.0.1:{hung.getsockname()[1]}/0")
    done = threading.Event()

    def create() -> None:
        from django.db import connection

        try:
            key_create(actor=None, customer=customer, name="during a hung broker")
        finally:
            connection.close()
            done.set()

    started = time.monotonic()
    thread = threading.Thread(target=create, daemon=True)
    thread.start()
    returned = done.wait(10.0)
    blocked = time.monotonic() - started
    hung.close()  # resets the queued connections: the send fails and the thread ends
    done.wait(30.0)
    broker.restore()
    print(
        f"key_create with a hung broker: {'returned' if returned else 'still blocked'} "
        f"after {blocked:.1f}s"
    )
    assert ApiKey.objects.filter(name="during a hung broker").exists()
    assert returned, f"key_create was still blocked after {blocked:.1f}s"
