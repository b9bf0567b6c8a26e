"""Fixtures for the resilience tests: faster AWS budgets, a short AWS read timeout, a small world."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.config import Config

from plans.models import ApiStage, Plan
from plans.services import plan_create
from portal.customers.models import Customer
from portal.customers.services import customer_onboard
from tests.conftest import ENTERPRISE, FREE, PREMIUM, make_user

# The real API Gateway budgets (portal/aws/limiter.py) allow one UpdateUsagePlan per 20 s: a
# test that edits tiers dozens of times would take many minutes. These keep every budget in
# place (so RateBudgetWait and its retries are still exercised) but 10x-100x faster.
FAST_BUDGETS = {
    "all": {"rate": 200.0, "burst": 200},
    "CreateApiKey": {"rate": 50.0, "burst": 20},
    "DeleteApiKey": {"rate": 50.0, "burst": 20},
    "UpdateUsagePlan": {"rate": 2.0, "burst": 2},
}

# The client's read timeout is 20 s (portal/aws/clients.py); the tests lower it so a "timeout"
# fault can be a 1-2 s delay instead of a 20+ s one.
SHORT_READ_TIMEOUT = 0.5


@pytest.fixture
def fast_budgets(settings: Any) -> None:
    # Replacing settings.TOLLGATE fires setting_changed, which makes get_limiter() rebuild.
    settings.TOLLGATE = {**settings.TOLLGATE, "AWS_RATE_LIMITS": FAST_BUDGETS}


@pytest.fixture
def short_read_timeout(monkeypatch: pytest.MonkeyPatch) -> Iterator[float]:
    """Lower botocore's read timeout for every thread, the worker's included.

    Patches portal.aws.clients._CONFIG (and _client's default argument bound to it). Clients
    are cached per thread (portal.aws.clients._local) and reset_clients() only forgets
    the calling thread's, so the module's thread-local itself is swapped for a fresh one: every
    thread builds a new client with the patched _CONFIG on its next call. Undone at teardown.
    """
    from portal.aws import clients

    short = Config(
        connect_timeout=5,
        read_timeout=SHORT_READ_TIMEOUT,
        retries={"mode": "standard", "total_max_attempts": 1},
    )
    original = clients._CONFIG
    monkeypatch.setattr(clients, "_CONFIG", short)
    # _client(service, region=None, config=_CONFIG) binds the config as a default argument.
    defaults = clients._client.__defaults__ or ()
    if any(d is original for d in defaults):
        monkeypatch.setattr(
            clients._client,
            "__defaults__",
            tuple(short if d is original else d for d in defaults),
        )
    monkeypatch.setattr(clients, "_local", threading.local())
    yield SHORT_READ_TIMEOUT
    # the original thread-local comes back with monkeypatch's undo


@pytest.fixture
def three_tiers(
    live_tiers: dict[str, Plan],  # noqa: F811 - the fixture imported above
    live_stage: ApiStage,  # noqa: F811
    settle: Any,
) -> dict[str, Plan]:
    enterprise = plan_create(actor=None, data=dict(ENTERPRISE), stages=[live_stage])
    settle()
    enterprise.refresh_from_db()
    return {**live_tiers, "Enterprise": enterprise}


def make_customers(n: int) -> list[Customer]:
    customers = []
    for i in range(n):
        owner = make_user(f"owner{i}@customer{i}.test")
        customers.append(customer_onboard(owner=owner, organisation_name=f"Customer {i}"))
    return customers


__all__ = ["FAST_BUDGETS", "FREE", "PREMIUM", "make_customers"]
