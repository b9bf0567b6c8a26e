"""Running a bulk tier move (plans/moves.py): the Celery task's body, a batch at a time.

Each customer moves through `plans.services.subscription_switch` (by_staff=True) in a
transaction of its own that also writes its `TierMoveItem`; the counts are refreshed from the
outcomes and the keys' sync state after each batch.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count
from django.db.models.functions import Coalesce
from django.utils import timezone

from plans.models import (
    ACTIVE_MOVE_STATUSES,
    Subscription,
    TierMove,
    TierMoveItem,
    TierMoveOutcome,
    TierMoveStatus,
)
from plans.move_estimate import (
    count_customers_and_keys,
    customers_left,
    drain_seconds,
    live_keys,
    window_keys,
)
from plans.services import subscription_switch
from portal.audit.services import audit
from portal.customers.models import Customer
from portal.errors import Refused, TransientSyncError
from portal.sync import (
    MAX_TRANSIENT_RETRIES,
    LockBusy,
    SyncStatus,
    object_lock,
    retry_later,
    task_attempt,
)

BATCH_SIZE = 25  # customers between two looks at the keys still waiting for AWS
RUN_SECONDS = 60.0  # one task run's share of a worker before it hands over to the next
LOCK_TTL = 300  # longer than a run: only a dead worker's lock expires


def _update(move: TierMove, **fields: Any) -> None:
    """`updated_at` tells a stalled move from a busy one, so every write sets it."""
    TierMove.objects.filter(pk=move.pk).update(updated_at=timezone.now(), **fields)


def refresh_counts(move: TierMove) -> TierMove:
    """The counts from the truth: the outcomes, the customers left and their keys, and the
    moved customers' keys by sync state (four aggregate queries and an UPDATE, whatever the
    size)."""
    outcomes = dict(
        TierMoveItem.objects.filter(move=move)
        .order_by()
        .values_list("outcome")
        .annotate(n=Count("pk"))
        .values_list("outcome", "n")
    )
    left_customers, left_keys = count_customers_and_keys(customers_left(move))
    moved_ids = TierMoveItem.objects.filter(
        move=move, outcome=TierMoveOutcome.MOVED, customer__isnull=False
    ).values("customer_id")
    by_state = dict(
        live_keys(moved_ids)
        .order_by()
        .values_list("sync_status")
        .annotate(n=Count("pk"))
        .values_list("sync_status", "n")
    )
    keys = {
        "total": sum(by_state.values()),
        "synced": by_state.get(SyncStatus.SYNCED, 0),
        "failed": by_state.get(SyncStatus.FAILED, 0),
    }
    moved = outcomes.get(TierMoveOutcome.MOVED, 0)
    refused = outcomes.get(TierMoveOutcome.REFUSED, 0)
    failed = outcomes.get(TierMoveOutcome.FAILED, 0)
    counts = {
        "customers_total": moved + refused + failed + left_customers,
        "customers_moved": moved,
        "customers_refused": refused,
        "customers_failed": failed,
        "keys_total": keys["total"] + left_keys,
        "keys_moved": keys["synced"],
        "keys_failed": keys["failed"],
        "keys_waiting": keys["total"] - keys["synced"] - keys["failed"],
    }
    _update(move, **counts)
    for name, value in counts.items():
        setattr(move, name, value)
    return move


def _record(move: TierMove, customer: Customer, outcome: str, reason: str = "") -> None:
    TierMoveItem.objects.create(
        move=move,
        customer=customer if customer.pk is not None else None,
        customer_name=customer.name[:200],
        outcome=outcome,
        reason=reason[:2000],
    )


def _words(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return " ".join(exc.messages)
    if isinstance(exc, Refused):
        return exc.message
    return str(exc)


def move_customer(move: TierMove, customer: Customer) -> str | None:
    """Move one customer in a transaction of its own, with its outcome; None when it is not the
    move's work any more (it left the source tier meanwhile)."""
    try:
        with transaction.atomic():
            locked = Customer.objects.select_for_update().filter(pk=customer.pk).first()
            if locked is None:
                deleted = Customer(name=customer.name)
                _record(move, deleted, TierMoveOutcome.REFUSED, "The customer was deleted.")
                return TierMoveOutcome.REFUSED
            on_it = Subscription.objects.active().filter(customer=locked, plan_id=move.from_plan_id)
            if not on_it.exists():
                return None  # someone moved it meanwhile: no longer on the source tier
            subscription_switch(
                actor=move.created_by, customer=locked, plan=move.to_plan, ip=move.ip, by_staff=True
            )
            _record(move, locked, TierMoveOutcome.MOVED)
            return TierMoveOutcome.MOVED
    except (ValidationError, Refused) as exc:
        outcome, reason = TierMoveOutcome.REFUSED, _words(exc)
    except IntegrityError as exc:
        # Another change to the same customer at the same moment: recorded, not retried forever.
        outcome, reason = TierMoveOutcome.FAILED, f"The database refused the change: {exc}"
    with transaction.atomic():
        _record(move, customer, outcome, reason)
    return outcome


def _still_active(move: TierMove) -> bool:
    return TierMove.objects.filter(pk=move.pk, status__in=ACTIVE_MOVE_STATUSES).exists()


def _finish(move: TierMove, status: str, error: str = "") -> None:
    now = timezone.now()
    with transaction.atomic():
        finished = TierMove.objects.filter(pk=move.pk, status__in=ACTIVE_MOVE_STATUSES).update(
            status=status, finished_at=now, updated_at=now, last_error=error[:2000]
        )
        if finished:
            move.refresh_from_db()
            audit(
                actor=None,
                action="tier_move.finished",
                target=move,
                after={
                    "status": status,
                    "moved": move.customers_moved,
                    "refused": move.customers_refused,
                    "failed": move.customers_failed,
                    "keys_moved": move.keys_moved,
                    "keys_failed": move.keys_failed,
                },
            )


@dataclass(frozen=True)
class Step:
    """What a run left: the move finished (or stopped), or run again in `wait` seconds."""

    finished: bool
    wait: float = 0.0


def run_move(
    move_id: int,
    *,
    holder: str = "",
    batch_size: int = BATCH_SIZE,
    run_seconds: float = RUN_SECONDS,
    progress: Callable[[TierMove], None] | None = None,
) -> Step:
    """Move batches of customers while the keys waiting for AWS stay under the window, for at
    most `run_seconds`; raises LockBusy while another worker runs the same move."""
    with object_lock(f"plans.tiermove:{move_id}", ttl_seconds=LOCK_TTL, holder=holder) as got:
        if not got:
            raise LockBusy(f"tier move {move_id} is being run by another worker")
        move = TierMove.objects.select_related("from_plan", "to_plan", "created_by").get(pk=move_id)
        if not move.is_active:
            return Step(finished=True)
        _update(
            move,
            status=TierMoveStatus.RUNNING,
            started_at=Coalesce("started_at", timezone.now()),
            last_error="",
        )
        deadline = time.monotonic() + run_seconds
        window = window_keys()
        while True:
            refresh_counts(move)
            if progress is not None:
                progress(move)
            if not _still_active(move):
                return Step(finished=True)
            waiting = move.keys_waiting
            if waiting > window:
                return Step(finished=False, wait=drain_seconds(waiting - window // 2))
            batch = list(customers_left(move).order_by("pk")[:batch_size])
            if not batch:
                if waiting == 0:
                    _finish(move, TierMoveStatus.DONE)
                    return Step(finished=True)
                return Step(finished=False, wait=drain_seconds(waiting))
            for customer in batch:
                if not _still_active(move):
                    refresh_counts(move)
                    return Step(finished=True)
                move_customer(move, customer)
            if time.monotonic() > deadline:
                refresh_counts(move)
                return Step(finished=False)


def run_move_task(task: Any, move_id: int) -> None:
    """The Celery task's body: one run, then the next one queued with its countdown. Waiting
    for another worker is not an attempt; any other error is retried with the sync tasks'
    backoff and, after MAX_TRANSIENT_RETRIES, fails the move with the error to read."""
    attempt, budget_waits = task_attempt(task)
    try:
        step = run_move(move_id, holder=getattr(task.request, "id", None) or "")
    except LockBusy as exc:
        raise retry_later(task, exc, attempt=attempt, budget_waits=budget_waits) from exc
    except TierMove.DoesNotExist:
        return
    except Exception as exc:  # noqa: BLE001 - a database or worker problem: the move must say so
        move = TierMove.objects.filter(pk=move_id).first()
        if move is None:
            return
        if attempt >= MAX_TRANSIENT_RETRIES:
            _finish(move, TierMoveStatus.FAILED, f"Gave up after {attempt + 1} attempts: {exc}")
            return
        _update(move, last_error=f"Retrying: {exc}"[:2000])
        transient = TransientSyncError(str(exc))
        raise retry_later(task, transient, attempt=attempt, budget_waits=budget_waits) from exc
    if not step.finished:
        task.apply_async((move_id,), countdown=step.wait)
