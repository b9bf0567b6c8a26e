"""Bulk tier moves (plans/moves.py): every customer through the one switch rule, counted from
the outcomes, refused as a whole when it cannot start, resumable after a crash, cancellable.
The key syncs are not run here (tests/plans/test_tier_move_aws.py runs them against the local
AWS): a key of a moved customer is *pending* until its sync ran."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db.models import F

from keys.models import ApiKey
from keys.services import key_create
from plans import move_estimate, move_runner, moves
from plans.models import (
    ApiStage,
    Plan,
    Subscription,
    TierMove,
    TierMoveItem,
    TierMoveStatus,
)
from plans.move_runner import run_move
from plans.moves import tier_move_cancel, tier_move_resume, tier_move_start
from plans.services import plan_archive, plan_create
from portal.accounts.models import User
from portal.audit.models import AuditEvent
from portal.connections.services import connection_default
from portal.customers.models import Customer
from portal.customers.services import customer_onboard
from portal.errors import NotAllowed, NotReady
from portal.sync import SyncStatus
from tests.conftest import FREE, make_user

pytestmark = pytest.mark.django_db


def tier_of(customer: Customer) -> str:
    return Subscription.objects.get(customer=customer, status="active").plan.name


def many_customers(count: int) -> list[Customer]:
    """`count` more customers, each on the default tier (Free) with one key."""
    found = []
    for n in range(count):
        customer = customer_onboard(
            owner=make_user(f"owner{n}@bulk.test"), organisation_name=f"Bulk {n:02d}"
        )
        key_create(actor=None, customer=customer, name="production")
        found.append(customer)
    return found


def keys_reach_aws() -> None:
    """What the key syncs leave once API Gateway holds every key in its new usage plan."""
    ApiKey.objects.update(sync_status=SyncStatus.SYNCED, synced_version=F("desired_version"))


def switch_events() -> list[tuple[str, int | None]]:
    return list(
        AuditEvent.objects.filter(action="subscription.started", after__tier="Premium")
        .order_by("target_id")
        .values_list("target_id", "actor_id")
    )


@pytest.fixture
def customers(acme: Customer, globex: Customer, acme_key: ApiKey, globex_key: ApiKey) -> Any:
    return [acme, globex, *many_customers(5)]


def test_a_move_takes_every_customer_through_the_switch_rule(
    admin: User,
    tiers: dict[str, Plan],
    customers: list[Customer],
    sent_tasks: list[Any],
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        move = tier_move_start(
            actor=admin, from_plan=tiers["Free"], to_plan=tiers["Premium"], ip="192.0.2.7"
        )
    assert sent_tasks == [(moves.RUN_MOVE_TASK, (move.pk,))]
    assert (move.status, move.customers_total, move.keys_total) == ("queued", 7, 7)
    started = AuditEvent.objects.get(action="tier_move.started")
    assert (started.actor_id, started.after) == (
        admin.pk,
        {"from": "free", "to": "premium", "customers": 7, "keys": 7},
    )

    sent_tasks.clear()
    with django_capture_on_commit_callbacks(execute=True):
        step = run_move(move.pk, batch_size=3)
    # Every customer moved; the move waits for their keys to reach AWS before it is done.
    assert {tier_of(c) for c in customers} == {"Premium"}
    assert not step.finished and step.wait > 0
    move.refresh_from_db()
    assert move.status == TierMoveStatus.RUNNING
    assert (move.customers_moved, move.customers_refused, move.keys_waiting) == (7, 0, 7)
    # One audit event per customer, by the admin who asked, from their address; each key's
    # sync sent once.
    events = switch_events()
    assert sorted(int(t) for t, _ in events) == sorted(c.pk for c in customers)
    assert {actor for _, actor in events} == {admin.pk}
    assert set(
        AuditEvent.objects.filter(action="subscription.started", after__tier="Premium").values_list(
            "ip", flat=True
        )
    ) == {"192.0.2.7"}
    key_syncs = sorted(args[0] for name, args in sent_tasks if name == "keys.tasks.sync_key")
    assert key_syncs == sorted(ApiKey.objects.values_list("pk", flat=True))

    keys_reach_aws()
    assert run_move(move.pk).finished
    move.refresh_from_db()
    assert (move.status, move.keys_moved, move.keys_waiting) == ("done", 7, 0)
    assert move.finished_at is not None
    finished = AuditEvent.objects.get(action="tier_move.finished")
    assert (finished.after or {})["moved"] == 7
    assert run_move(move.pk).finished  # a late duplicate delivery: nothing more happens
    assert len(switch_events()) == 7


def test_a_customer_that_cannot_move_is_recorded_with_the_reason(
    admin: User, tiers: dict[str, Plan], customers: list[Customer], settings: Any
) -> None:
    connection_default()
    europe = ApiStage.objects.create(
        region="eu-west-1", rest_api_id="eu1234", stage_name="prod", api_name="W", available=True
    )
    wider = plan_create(
        actor=None,
        data={**FREE, "name": "Free 2027", "is_default": False},
        stages=[ApiStage.objects.get(region="us-east-1"), europe],
    )
    # Room for three more keys in eu-west-1: the whole move is refused up front...
    settings.TOLLGATE = {**settings.TOLLGATE, "AWS_CAPS": {"api_keys": 3}}
    with pytest.raises(ValidationError) as refused:
        tier_move_start(actor=admin, from_plan=tiers["Free"], to_plan=wider)
    assert "API Gateway allows 3 API keys per account and region" in str(refused.value)
    assert not TierMove.objects.exists()
    # ...but a cap reached during the move (room when it started) refuses customer by customer.
    settings.TOLLGATE = {**settings.TOLLGATE, "AWS_CAPS": {"api_keys": 7}}
    move = tier_move_start(actor=admin, from_plan=tiers["Free"], to_plan=wider)
    settings.TOLLGATE = {**settings.TOLLGATE, "AWS_CAPS": {"api_keys": 3}}
    run_move(move.pk)
    move.refresh_from_db()
    assert (move.customers_moved, move.customers_refused) == (3, 4)
    refused_items = TierMoveItem.objects.filter(move=move, outcome="refused")
    assert all("API Gateway allows 3 API keys" in item.reason for item in refused_items)
    assert {tier_of(item.customer) for item in refused_items if item.customer} == {"Free"}
    # A second run does not try them again.
    run_move(move.pk)
    assert TierMoveItem.objects.filter(move=move).count() == 7


@pytest.mark.parametrize("who", ["ops", "alice"])
def test_only_an_admin_may_start_one(
    who: str, request: pytest.FixtureRequest, tiers: dict[str, Plan], customers: list[Customer]
) -> None:
    with pytest.raises(NotAllowed, match="Only Tollgate admins"):
        tier_move_start(
            actor=request.getfixturevalue(who), from_plan=tiers["Free"], to_plan=tiers["Premium"]
        )
    assert (
        not TierMove.objects.exists()
        and not AuditEvent.objects.filter(action__startswith="tier_move").exists()
    )


def test_what_cannot_start_is_refused_with_a_message(
    admin: User, tiers: dict[str, Plan], customers: list[Customer]
) -> None:
    free, premium, enterprise = tiers["Free"], tiers["Premium"], tiers["Enterprise"]
    with pytest.raises(ValidationError, match="Choose another tier"):
        tier_move_start(actor=admin, from_plan=free, to_plan=free)
    with pytest.raises(ValidationError, match="No customer is on the Enterprise tier"):
        tier_move_start(actor=admin, from_plan=enterprise, to_plan=premium)
    plan_archive(actor=None, plan=enterprise)
    with pytest.raises(ValidationError, match="The Enterprise tier is archived"):
        tier_move_start(actor=admin, from_plan=free, to_plan=enterprise)
    assert not TierMove.objects.exists()

    running = tier_move_start(actor=admin, from_plan=free, to_plan=premium)
    for source, target in ((free, premium), (premium, free)):
        with pytest.raises(NotReady, match=f"Move {running.pk} \\(Free → Premium\\) is still"):
            tier_move_start(actor=admin, from_plan=source, to_plan=target)
    assert TierMove.objects.count() == 1
    assert {tier_of(c) for c in customers} == {"Free"}


def test_a_crashed_run_is_continued_and_moves_everyone_exactly_once(
    admin: User,
    tiers: dict[str, Plan],
    customers: list[Customer],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    move = tier_move_start(actor=admin, from_plan=tiers["Free"], to_plan=tiers["Premium"])
    real = move_runner.subscription_switch
    calls = {"n": 0}

    def dies_after_three(**kwargs: Any) -> Any:
        if calls["n"] == 3:
            raise SystemExit("the worker was killed")  # not an Exception: nothing catches it
        calls["n"] += 1
        return real(**kwargs)

    monkeypatch.setattr(move_runner, "subscription_switch", dies_after_three)
    with pytest.raises(SystemExit):
        run_move(move.pk, batch_size=2)
    assert len(switch_events()) == 3
    assert TierMoveItem.objects.filter(move=move).count() == 3

    # The redelivered task (or Resume) carries on with the customers still on Free.
    monkeypatch.setattr(move_runner, "subscription_switch", real)
    tier_move_resume(actor=admin, move=TierMove.objects.get(pk=move.pk))
    run_move(move.pk, batch_size=2)
    events = switch_events()
    assert sorted(int(t) for t, _ in events) == sorted(c.pk for c in customers)  # once each
    assert {tier_of(c) for c in customers} == {"Premium"}
    assert Subscription.objects.filter(status="active").count() == len(customers)
    move.refresh_from_db()
    assert (move.customers_moved, move.customers_total) == (7, 7)


def test_a_cancelled_move_stops_before_the_next_customer(
    admin: User, tiers: dict[str, Plan], customers: list[Customer]
) -> None:
    move = tier_move_start(actor=admin, from_plan=tiers["Free"], to_plan=tiers["Premium"])
    step = run_move(move.pk, batch_size=2, run_seconds=0)  # one batch, then it hands over
    assert not step.finished
    tier_move_cancel(actor=admin, move=move, ip="192.0.2.9")
    assert run_move(move.pk).finished
    move.refresh_from_db()
    assert (move.status, move.customers_moved) == ("cancelled", 2)
    assert sorted(tier_of(c) for c in customers).count("Premium") == 2
    cancelled = AuditEvent.objects.get(action="tier_move.cancelled")
    assert (cancelled.actor_id, cancelled.after) == (admin.pk, {"moved": 2, "left": 5})
    with pytest.raises(NotReady, match="already finished"):
        tier_move_cancel(actor=admin, move=move)
    with pytest.raises(NotReady, match="cancelled"):
        tier_move_resume(actor=admin, move=move)
    # Once it is over the tiers are free for another move.
    again = tier_move_start(actor=admin, from_plan=tiers["Free"], to_plan=tiers["Premium"])
    assert again.customers_total == 5


def test_a_customer_who_left_the_tier_meanwhile_is_not_moved(
    admin: User, tiers: dict[str, Plan], customers: list[Customer]
) -> None:
    move = tier_move_start(actor=admin, from_plan=tiers["Free"], to_plan=tiers["Premium"])
    gone = customers[0]
    Subscription.objects.filter(customer=gone, status="active").update(plan=tiers["Enterprise"])
    assert move_runner.move_customer(move, gone) is None
    assert tier_of(gone) == "Enterprise"
    assert not TierMoveItem.objects.filter(move=move).exists()


def test_the_estimate_counts_aws_calls_at_the_ceiling(
    tiers: dict[str, Plan], customers: list[Customer]
) -> None:
    for customer in customers[:3]:
        key_create(actor=None, customer=customer, name="second")
    estimate = move_estimate.move_estimate(tiers["Free"], tiers["Premium"])
    assert (estimate.customers, estimate.keys) == (7, 10)
    [place] = estimate.places
    # Leave one usage plan, join the other: 2 calls a key, at 10 a second in the place.
    assert (place.calls, place.seconds) == (20, 2.0)
    assert estimate.seconds == 2.0


def test_the_next_batch_waits_while_the_keys_catch_up_with_aws(
    admin: User,
    tiers: dict[str, Plan],
    customers: list[Customer],
    monkeypatch: pytest.MonkeyPatch,
    sent_tasks: list[Any],
    django_capture_on_commit_callbacks: Any,
) -> None:
    # A window of 3 keys (0.6 s of the 10 req/s budget at 2 calls a key): the queue never holds
    # much more than that, whatever the size of the move.
    monkeypatch.setattr(move_estimate, "WINDOW_SECONDS", 0.6)
    assert move_estimate.window_keys() == 3
    move = tier_move_start(actor=admin, from_plan=tiers["Free"], to_plan=tiers["Premium"])
    with django_capture_on_commit_callbacks(execute=True):
        step = run_move(move.pk, batch_size=2)
    move.refresh_from_db()
    # Two batches of two: 4 keys waiting > 3, so it hands over, to come back once they drained.
    assert (move.customers_moved, move.keys_waiting) == (4, 4)
    assert not step.finished and step.wait >= 1.0
    assert len([name for name, _ in sent_tasks if name == "keys.tasks.sync_key"]) == 4
    keys_reach_aws()
    run_move(move.pk, batch_size=2)
    move.refresh_from_db()
    assert move.customers_moved == 7


class FakeTask:
    """A bound Celery task as run_move_task sees it: its request, retry and apply_async."""

    def __init__(self, retries: int = 0) -> None:
        self.request = type("Request", (), {"retries": retries, "id": "task-1", "headers": {}})()
        self.queued: list[tuple[Any, float]] = []

    def retry(self, exc: Exception, countdown: float, **kwargs: Any) -> Exception:
        return RuntimeError(f"retry in {countdown:.1f} s: {exc}")

    def apply_async(self, args: Any, countdown: float) -> None:
        self.queued.append((args, countdown))


def test_the_task_queues_its_next_run_and_fails_the_move_after_its_retries(
    admin: User,
    tiers: dict[str, Plan],
    customers: list[Customer],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    move = tier_move_start(actor=admin, from_plan=tiers["Free"], to_plan=tiers["Premium"])
    task = FakeTask()
    move_runner.run_move_task(task, move.pk)  # everyone moved; the keys have yet to sync
    assert task.queued and task.queued[0][0] == (move.pk,)

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("the database went away")

    monkeypatch.setattr(move_runner, "run_move", broken)
    with pytest.raises(RuntimeError, match="retry in"):
        move_runner.run_move_task(FakeTask(), move.pk)
    assert TierMove.objects.get(pk=move.pk).last_error == "Retrying: the database went away"
    move_runner.run_move_task(FakeTask(retries=move_runner.MAX_TRANSIENT_RETRIES), move.pk)
    failed = TierMove.objects.get(pk=move.pk)
    assert failed.status == "failed"
    assert failed.last_error.startswith("Gave up after 13 attempts: the database went away")
    # Resume takes a failed move up again.
    assert tier_move_resume(actor=admin, move=failed).status == "queued"
