"""Shared fixtures: named people, tiers, the local AWS server, a real Celery worker, the demo API's
stage and tiers in the local AWS, and what the REST API tests share (keys, sent tasks).

The people follow the healthchecks habit: `admin` runs the console, `ops` reads it, `alice` owns
Acme, `bob` owns Globex, and `charlie` belongs to no organisation.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import boto3
import pytest
from allauth.account.models import EmailAddress
from celery.worker import state as worker_state
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from keys.models import ApiKey
from keys.services import key_create
from localaws.demo_api import ensure_demo_api
from localaws.server import LocalAwsServer
from localaws.testing import LocalAwsControl, start_local_aws
from plans.models import ApiStage, Plan
from plans.selectors import CUSTOMER_COUNTS
from plans.services import plan_create
from plans.stages import stage_set_available, stages_discover
from portal.accounts.models import StaffRole, User
from portal.customers.models import (
    INVITATION_LIFETIME,
    Customer,
    Invitation,
    Membership,
    MembershipRole,
)
from portal.customers.services import customer_onboard
from tests.fixtures.mfa import add_totp, mark_mfa_passed

PASSWORD = "correct-horse-battery"

# No secret the product or the tests create may appear in a log record (issue 13).
pytest_plugins = ["tests.secret_leaks"]

FREE: dict[str, Any] = {
    "name": "Free",
    "description": "Try it out",
    "self_serve": True,
    "is_default": True,
    "throttle_rate": Decimal("2"),
    "throttle_burst": 5,
    "quota_limit": 1000,
    "quota_period": "DAY",
    "quota_offset": 0,
    "monthly_price": None,
}
PREMIUM: dict[str, Any] = {
    **FREE,
    "name": "Premium",
    "description": "For production",
    "is_default": False,
    "throttle_rate": Decimal("50"),
    "throttle_burst": 100,
    "quota_limit": 100_000,
    "quota_period": "MONTH",
    "monthly_price": Decimal("49"),
}
ENTERPRISE: dict[str, Any] = {
    **PREMIUM,
    "name": "Enterprise",
    "self_serve": False,
    "monthly_price": Decimal("499"),
}


# --- people -----------------------------------------------------------------------------------


def make_user(
    email: str, role: str = StaffRole.NONE, *, verified: bool = True, mfa: bool | None = None
) -> User:
    """A person who signed up and (unless `verified=False`) confirmed their address, as
    ACCOUNT_EMAIL_VERIFICATION = "mandatory" asks before they sign in or create keys.

    Staff must use MFA (portal.access.mfa_setup_required): they get an authenticator app
    unless `mfa=False` (tests/fixtures/mfa.py computes its codes); customers only with `mfa=True`.
    """
    user = User.objects.create_user(email=email, password=PASSWORD, staff_role=role)
    EmailAddress.objects.create(user=user, email=email, primary=True, verified=verified)
    if mfa if mfa is not None else bool(role):
        add_totp(user)
    return user


@pytest.fixture
def admin(db: None) -> User:
    return make_user("admin@tollgate.test", StaffRole.ADMIN)


@pytest.fixture
def ops(db: None) -> User:
    return make_user("ops@tollgate.test", StaffRole.OPS)


@pytest.fixture
def charlie(db: None) -> User:
    return make_user("charlie@outsider.test")


@pytest.fixture
def alice(db: None, tiers: dict[str, Plan]) -> User:
    user = make_user("alice@acme.test")
    customer_onboard(owner=user, organisation_name="Acme")
    return user


@pytest.fixture
def bob(db: None, tiers: dict[str, Plan]) -> User:
    user = make_user("bob@globex.test")
    customer_onboard(owner=user, organisation_name="Globex")
    return user


@pytest.fixture
def maria(alice: User) -> User:
    """A plain member of Acme (alice owns it): keys and usage, not tiers, members or settings."""
    user = make_user("maria@acme.test")
    Membership.objects.create(
        user=user, customer=Customer.objects.get(name="Acme"), role=MembershipRole.MEMBER
    )
    return user


@pytest.fixture
def dave(alice: User) -> User:
    """Has an account and an invitation to Acme he has not accepted: no organisation yet."""
    user = make_user("dave@invited.test")
    now = timezone.now()
    Invitation.objects.create(
        customer=Customer.objects.get(name="Acme"),
        email=user.email,
        role=MembershipRole.MEMBER,
        invited_by=alice,
        token_hash=hashlib.sha256(b"dave-invitation-token").hexdigest(),
        sent_at=now,
        expires_at=now + INVITATION_LIFETIME,
    )
    return user


@pytest.fixture
def acme(alice: User) -> Customer:
    return Customer.objects.get(name="Acme")


@pytest.fixture
def globex(bob: User) -> Customer:
    return Customer.objects.get(name="Globex")


def login(user: User) -> Client:
    """Signed in, and (for someone with an authenticator app) through its code, as allauth's
    sign-in records it in the session."""
    client = Client()
    client.force_login(user)
    mark_mfa_passed(client, user)
    return client


# --- tiers without AWS (the sync task is never sent: `db` tests never commit) -----------------


@pytest.fixture
def stage(db: None) -> ApiStage:
    return ApiStage.objects.create(
        region="us-east-1",
        rest_api_id="abc123",
        stage_name="prod",
        api_name="Weather API",
        available=True,
    )


@pytest.fixture
def tiers(db: None, stage: ApiStage) -> dict[str, Plan]:
    actor = None
    return {
        spec["name"]: plan_create(actor=actor, data=dict(spec), stages=[stage])
        for spec in (FREE, PREMIUM, ENTERPRISE)
    }


# --- local AWS --------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def local_aws() -> Iterator[LocalAwsServer]:
    from portal.aws.clients import reset_clients

    server = start_local_aws()
    os.environ["AWS_ENDPOINT_URL"] = server.endpoint_url
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        os.environ.setdefault(name, value)
    os.environ.pop("AWS_PROFILE", None)
    reset_clients()
    yield server
    server.stop()


@pytest.fixture
def control(local_aws: LocalAwsServer) -> LocalAwsControl:
    """The local AWS, wiped: no APIs, plans, keys, faults or recorded calls."""
    ctl = LocalAwsControl(local_aws.endpoint_url)
    ctl.reset()
    return ctl


@pytest.fixture
def apigw(local_aws: LocalAwsServer, control: LocalAwsControl) -> Any:
    """A boto3 client to read back what the local API Gateway holds."""
    return boto3.client(
        "apigateway",
        region_name="us-east-1",
        endpoint_url=local_aws.endpoint_url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


@pytest.fixture
def demo_api(apigw: Any) -> tuple[str, str]:
    return ensure_demo_api(apigw)


# --- a real Celery worker -----------------------------------------------------------------------


@pytest.fixture(scope="session")
def celery_worker_session(django_db_blocker: Any) -> Iterator[Any]:
    """One worker thread on the configured broker (Redis in CI), consuming this run's queue."""
    from celery.contrib.testing.worker import start_worker

    from portal.celery import app

    app.control.purge()
    with start_worker(
        app, pool="threads", concurrency=2, perform_ping_check=False, shutdown_timeout=10
    ) as worker:
        yield worker


@pytest.fixture
def worker(celery_worker_session: Any, transactional_db: None) -> Iterator[Any]:
    yield celery_worker_session
    # A task still running when the test ends holds row locks while the database is flushed:
    # on PostgreSQL the flush's TRUNCATE and the task deadlock. Let the running ones finish.
    deadline = time.monotonic() + 30.0
    quiet_since: float | None = None
    while time.monotonic() < deadline:
        if worker_state.active_requests or worker_state.reserved_requests:
            quiet_since = None
        elif quiet_since is None:
            quiet_since = time.monotonic()
        elif time.monotonic() - quiet_since >= 0.3:
            return
        time.sleep(0.05)


def wait_until(condition: Callable[[], bool], timeout: float = 30.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout}s waiting for {what or condition}")


def settled() -> bool:
    """No tier or key waits for API Gateway any more."""
    from keys.models import ApiKey
    from portal.sync import SyncStatus

    return not (
        Plan.objects.filter(sync_status=SyncStatus.PENDING).exists()
        or ApiKey.objects.filter(sync_status=SyncStatus.PENDING).exists()
    )


@pytest.fixture
def settle() -> Callable[..., None]:
    def wait(timeout: float = 30.0) -> None:
        wait_until(settled, timeout, "every tier and key to leave 'pending'")

    return wait


# --- the demo API's stage and tiers in the local AWS (with the worker) --------------------------


@pytest.fixture
def live_stage(worker: Any, demo_api: tuple[str, str]) -> ApiStage:
    """The demo API's stage, discovered from the local AWS and offered to tiers."""
    stages_discover()
    stage = ApiStage.objects.get(rest_api_id=demo_api[0], stage_name=demo_api[1])
    return stage_set_available(actor=None, stage=stage, available=True)


@pytest.fixture
def live_tiers(live_stage: ApiStage, settle: Any) -> dict[str, Plan]:
    plans = {
        spec["name"]: plan_create(actor=None, data=dict(spec), stages=[live_stage])
        for spec in (FREE, PREMIUM)
    }
    settle()
    for plan in plans.values():
        plan.refresh_from_db()
    return plans


@pytest.fixture
def owner(live_tiers: dict[str, Plan]) -> User:
    """Dana, who signed Initech up on the live tiers' default (Free)."""
    user = make_user("dana@initech.test")
    customer_onboard(owner=user, organisation_name="Initech")
    return user


@pytest.fixture
def initech(owner: User) -> Customer:
    return Customer.objects.get(name="Initech")


# --- the REST API (its client is tests/fixtures/api.py) ---------------------------------------


@pytest.fixture(autouse=True)
def generous_rate(settings: Any) -> None:
    """Throttling is tested on its own; elsewhere the rate never gets in the way."""
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"user": "100000/min"},
    }


@pytest.fixture
def sent_tasks(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, tuple[Any, ...]]]:
    """The tasks sent once a transaction commits (portal.sync.enqueue_on_commit), by name and
    arguments; run them with django_capture_on_commit_callbacks(execute=True)."""
    from portal import sync

    sent: list[tuple[str, tuple[Any, ...]]] = []
    monkeypatch.setattr(sync, "send_task", lambda name, *args: sent.append((name, args)))
    return sent


@pytest.fixture
def acme_key(alice: User, acme: Customer) -> ApiKey:
    return key_create(actor=alice, customer=acme, name="production")


@pytest.fixture
def globex_key(bob: User, globex: Customer) -> ApiKey:
    return key_create(actor=bob, customer=globex, name="globex-prod")


@pytest.fixture(autouse=True)
def _broker_trusted_again() -> None:
    """A test that took the broker down must not leave later tests' sends skipped."""
    from portal import sync

    sync._broker_down_until = 0.0


@pytest.fixture(autouse=True)
def _tier_counts_of_this_test() -> None:
    """The tier list keeps its customer counts in the cache, which outlives a test's rolled-back
    database: a later test's tier of the same id must not show them."""
    cache.delete(CUSTOMER_COUNTS)
