"""The desired-state → API Gateway convergence shared by tiers and keys.

Every synced row carries a desired version (bumped by each service write) and the version last
confirmed in AWS. A sync task reads the *current* row, pushes it, and marks it synced only if
nobody changed it meanwhile — so duplicate, late or retried deliveries are harmless and an old
state can never overwrite a newer one.
"""

from __future__ import annotations

import logging
import random
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any, ClassVar, TypeVar

from celery import current_app, shared_task
from django.apps import apps
from django.conf import settings
from django.core.cache import cache
from django.db import models, transaction
from django.db.models import F
from django.utils import timezone

from portal.aws.limiter import RateBudgetWait
from portal.errors import PermanentSyncError, TransientSyncError

logger = logging.getLogger(__name__)


class SyncStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SYNCED = "synced", "Synced"
    FAILED = "failed", "Failed"
    DRIFTED = "drifted", "Drifted"


class SyncState(models.Model):
    desired_version = models.PositiveIntegerField(default=1)
    synced_version = models.PositiveIntegerField(default=0)
    sync_status = models.CharField(
        max_length=10, choices=SyncStatus.choices, default=SyncStatus.PENDING, db_index=True
    )
    sync_error = models.TextField(blank=True)
    sync_attempted_at = models.DateTimeField(null=True, blank=True)
    sync_requested_at = models.DateTimeField(default=timezone.now)
    synced_at = models.DateTimeField(
        null=True, blank=True, help_text="When this object was last confirmed equal to AWS."
    )
    drift = models.JSONField(
        null=True,
        blank=True,
        help_text="What the reconciler found different in AWS: differences and AWS's values.",
    )

    # The Celery task that converges one row, by name ("keys.tasks.sync_key"): the kernel sends
    # it and sweeps for it without importing the domain that defines it.
    sync_task: ClassVar[str] = ""

    class Meta:
        abstract = True

    @property
    def is_sync_pending(self) -> bool:
        return self.sync_status == SyncStatus.PENDING


Synced = TypeVar("Synced", bound=SyncState)


def bump_desired_versions(rows: models.QuerySet[Any]) -> int:
    """Mark rows as changed in one UPDATE; their sync tasks are scheduled by the caller."""
    return rows.update(
        desired_version=F("desired_version") + 1,
        sync_status=SyncStatus.PENDING,
        sync_error="",
        sync_requested_at=timezone.now(),
    )


def bump_desired_version(obj: SyncState) -> None:
    """Mark a row as changed; its sync task is scheduled by the caller on commit."""
    bump_desired_versions(type(obj)._default_manager.filter(pk=obj.pk))
    obj.refresh_from_db(
        fields=["desired_version", "sync_status", "sync_error", "sync_requested_at"]
    )


def settle_as_is(rows: models.QuerySet[Any]) -> int:
    """AWS holds exactly these rows' desired state already (found there, or accepted from
    there): record them synced without sending anything."""
    return rows.update(
        sync_status=SyncStatus.SYNCED,
        synced_version=F("desired_version"),
        sync_error="",
        drift=None,
        synced_at=timezone.now(),
        sync_attempted_at=timezone.now(),
    )


def mark_synced(model: type[SyncState], pk: int, version: int) -> bool:
    """Record that AWS matches `version`; a no-op if a newer change arrived meanwhile."""
    now = timezone.now()
    updated = model._default_manager.filter(pk=pk, desired_version=version).update(
        synced_version=version, sync_status=SyncStatus.SYNCED, sync_error="", synced_at=now
    )
    return bool(updated)


def mark_failed(model: type[SyncState], pk: int, version: int, message: str) -> None:
    model._default_manager.filter(pk=pk, desired_version=version).update(
        sync_status=SyncStatus.FAILED, sync_error=message[:2000]
    )


def note_retrying(model: type[SyncState], pk: int, version: int, message: str) -> None:
    model._default_manager.filter(pk=pk, desired_version=version).update(
        sync_error=f"Retrying: {message}"[:2000]
    )


def note_waiting(model: type[SyncState], pk: int, version: int, message: str) -> None:
    """A note, not an error: the change waits for the AWS rate budget (portal/aws/limiter.py)."""
    model._default_manager.filter(pk=pk, desired_version=version).update(sync_error=message[:2000])


@contextmanager
def object_lock(name: str, *, ttl_seconds: int = 120, holder: str = "") -> Iterator[bool]:
    """One sync at a time per object, across every worker (the cache is shared).

    Yields False if another worker holds the lock; the caller then retries later.

    `holder` (the Celery task's id) takes over a lock taken under the same id: only an earlier
    delivery of the same message can hold it (a retry is sent after the lock is released), and
    the broker delivers a message again only once the worker that had it stopped renewing its
    lease on it (portal/celery_lease.py), i.e. died holding the lock, which would otherwise keep
    this object waiting until the lock's TTL ran out.
    """
    key = f"tollgate:sync-lock:{name}"
    token = f"{holder}:{uuid.uuid4().hex}" if holder else uuid.uuid4().hex
    acquired = cache.add(key, token, ttl_seconds)
    if not acquired and holder:
        held = cache.get(key)
        if isinstance(held, str) and held.startswith(f"{holder}:"):
            cache.set(key, token, ttl_seconds)
            acquired = cache.get(key) == token  # two takers at once: one wins
    try:
        yield acquired
    finally:
        if acquired and cache.get(key) == token:
            cache.delete(key)


def backoff_seconds(attempt: int, *, cap: float = 300.0) -> float:
    """Exponential backoff with full jitter (AWS Architecture Blog, "Exponential Backoff And Jitter")."""
    base = float(settings.TOLLGATE["SYNC_BACKOFF_BASE_SECONDS"])
    return random.uniform(0, min(cap, base * (2**attempt)))


MAX_TRANSIENT_RETRIES = 12
# A task header counting the retries spent waiting (for the AWS rate budget, or for another
# worker's lock on the same object): they are not attempts, so they neither count toward
# MAX_TRANSIENT_RETRIES nor lengthen the backoff.
BUDGET_WAITS_HEADER = "tollgate_budget_waits"


class LockBusy(Exception):
    """Another worker is syncing the same object right now."""


def converge(
    model: type[Synced],
    pk: int,
    push: Callable[[Synced], None],
    *,
    attempt: int,
    holder: str = "",
) -> None:
    """Push the current desired state of one row to AWS and record the outcome.

    Raises LockBusy or TransientSyncError for the task to retry; a permanent error, or a
    transient one that outlived every retry, leaves the row *failed* with a readable message.
    Waiting for the AWS rate budget (RateBudgetWait) never fails a row.
    """
    obj = model._default_manager.filter(pk=pk).first()
    if obj is None:
        return
    if obj.sync_status == SyncStatus.SYNCED and obj.synced_version >= obj.desired_version:
        return  # a duplicate delivery of work already done
    with object_lock(f"{model._meta.label_lower}:{pk}", holder=holder) as acquired:
        if not acquired:
            raise LockBusy(f"{model._meta.label_lower} {pk} is being synced by another worker")
        # Read again under the lock: the row read above may predate a sync another worker
        # completed meanwhile, and pushing it would put an older state back into AWS.
        obj = model._default_manager.filter(pk=pk).first()
        if obj is None:
            return
        if obj.sync_status == SyncStatus.SYNCED and obj.synced_version >= obj.desired_version:
            return
        version = obj.desired_version
        model._default_manager.filter(pk=pk).update(sync_attempted_at=timezone.now())
        try:
            push(obj)
        except PermanentSyncError as exc:
            logger.warning("sync of %s %s failed: %s", model._meta.label_lower, pk, exc)
            mark_failed(model, pk, version, str(exc))
            return
        except RateBudgetWait as exc:
            note_waiting(model, pk, version, str(exc))
            raise
        except TransientSyncError as exc:
            if attempt >= MAX_TRANSIENT_RETRIES:
                mark_failed(
                    model, pk, version, f"{exc} (gave up after {attempt + 1} attempts; retry it)"
                )
                return
            note_retrying(model, pk, version, str(exc))
            raise
        mark_synced(model, pk, version)


# --- the retry policy of every task that talks to AWS ----------------------------------------


def is_wait(exc: BaseException) -> bool:
    """Waiting behind another worker, for the AWS rate budget or for an unanswered call to
    land (connections/copies.AnswerAwaited): not a failed attempt."""
    return isinstance(exc, (LockBusy, RateBudgetWait))


def retry_countdown(exc: BaseException, attempt: int, budget_waits: int) -> float:
    """Seconds to wait before trying again after `exc`, a LockBusy or a TransientSyncError.

    The rate budget says how long it needs (plus a little jitter, so the waiting tasks do not
    all come back at once); another worker's lock is waited for 0.2 s, then 1.5 times longer
    each time (`budget_waits`, the waits so far), at most 10 s; anything else backs off
    exponentially with full jitter from the `attempt` (backoff_seconds).
    """
    if isinstance(exc, RateBudgetWait):
        return exc.retry_after + random.uniform(0.05, 0.8)
    if isinstance(exc, LockBusy):
        return min(10.0, 0.2 * 1.5**budget_waits) + random.uniform(0.05, 0.8)
    return backoff_seconds(attempt)


def task_attempt(task: Any) -> tuple[int, int]:
    """(attempt, budget_waits) of a bound Celery task: its retries that were real attempts,
    and those spent waiting (BUDGET_WAITS_HEADER)."""
    budget_waits = int(getattr(task.request, BUDGET_WAITS_HEADER, None) or 0)
    return max(0, task.request.retries - budget_waits), budget_waits


def retry_later(task: Any, exc: BaseException, *, attempt: int, budget_waits: int) -> Any:
    """Retry `task` after retry_countdown; a wait is counted in BUDGET_WAITS_HEADER instead of
    as an attempt. Celery's `retry` raises; callers write `raise retry_later(...) from exc`."""
    countdown = retry_countdown(exc, attempt, budget_waits)
    if is_wait(exc):
        headers = {**(task.request.headers or {}), BUDGET_WAITS_HEADER: budget_waits + 1}
        return task.retry(exc=exc, countdown=countdown, headers=headers)
    return task.retry(exc=exc, countdown=countdown)


def run_sync_task(task: Any, model: type[Synced], pk: int, push: Callable[[Synced], None]) -> None:
    """The body of every sync task: converge, and turn "try later" into a Celery retry."""
    attempt, budget_waits = task_attempt(task)
    try:
        converge(model, pk, push, attempt=attempt, holder=getattr(task.request, "id", None) or "")
    except (LockBusy, TransientSyncError) as exc:
        raise retry_later(task, exc, attempt=attempt, budget_waits=budget_waits) from exc


def send_task(name: str, *args: Any) -> None:
    """Publish a task by its name, once, without retrying a broken broker."""
    current_app.send_task(name, args=args, retry=False)


def enqueue_on_commit(task_name: str, *args: Any) -> None:
    """Send the task `task_name` with `args` once the transaction commits.

    If the broker is unreachable the change is still committed and still pending; the periodic
    sweep (sweep_pending) sends it again, so a broker outage delays a change but never loses it.
    """

    def send() -> None:
        global _broker_down_until
        if time.monotonic() < _broker_down_until:
            logger.warning("broker down: %s%s left to the sweep", task_name, args)
            return
        try:
            # One attempt, no publish retries: a request must not hang on a broken broker.
            send_task(task_name, *args)
        except Exception:  # noqa: BLE001 - any broker failure; the sweep covers it
            _broker_down_until = time.monotonic() + BROKER_DOWN_PAUSE_SECONDS
            logger.exception("could not enqueue %s%s; the sweep will retry", task_name, args)

    transaction.on_commit(send)


def schedule_sync(obj: SyncState, *, already_in_aws: bool = False) -> None:
    """Converge `obj` onto AWS once the transaction commits (its model names the task).

    `already_in_aws`: the change was read from AWS (a drift accepted from there), so there is
    nothing to send; the row is recorded synced instead.
    """
    if already_in_aws:
        settle_as_is(type(obj)._default_manager.filter(pk=obj.pk))
        return
    enqueue_on_commit(type(obj).sync_task, obj.pk)


def schedule_syncs(model: type[SyncState], pks: list[int]) -> None:
    for pk in pks:
        enqueue_on_commit(model.sync_task, pk)


# After one failed send, the sends that follow (say, every key of a tier switch) go straight to
# the sweep for a few seconds instead of each waiting for the broker to fail again.
BROKER_DOWN_PAUSE_SECONDS = 10.0
_broker_down_until = 0.0


# How long a pending change may wait before the sweep sends its task again.
SWEEP_AFTER = timedelta(minutes=2)


def stale_pending(model: type[Synced]) -> list[int]:
    cutoff = timezone.now() - SWEEP_AFTER
    return list(
        model._default_manager.filter(sync_status=SyncStatus.PENDING)
        .filter(models.Q(sync_requested_at__lt=cutoff) | models.Q(sync_requested_at__isnull=True))
        .filter(models.Q(sync_attempted_at__lt=cutoff) | models.Q(sync_attempted_at__isnull=True))
        .values_list("pk", flat=True)[:1000]
    )


def synced_models() -> list[type[SyncState]]:
    """Every concrete model that converges onto AWS."""
    return [
        model
        for model in apps.get_models()
        if issubclass(model, SyncState) and not model._meta.abstract
    ]


@shared_task
def sweep_pending() -> dict[str, int]:
    """Send again the sync of every change still pending after a while.

    Covers a broker that was down when the change committed, and a worker that died holding
    the message; duplicates are harmless because a sync reads the current desired state.
    """
    sent: dict[str, int] = {}
    for model in synced_models():
        pks = stale_pending(model)
        for pk in pks:
            send_task(model.sync_task, pk)
        sent[model._meta.label_lower] = len(pks)
    return sent
