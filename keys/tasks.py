from dataclasses import asdict

from celery import shared_task
from celery.app.task import Task

from keys import expiry, idle, rotation
from keys.imports.running import run_import_task
from keys.models import ApiKey
from portal.errors import TransientSyncError
from portal.sync import (
    MAX_TRANSIENT_RETRIES,
    enqueue_on_commit,
    retry_later,
    run_sync_task,
    task_attempt,
)


@shared_task(bind=True, max_retries=None)
def sync_key(self: Task, key_id: int) -> None:
    run_sync_task(self, ApiKey, key_id, rotation.push_key_keeping_quota)
    rotation.after_key_sync(key_id)  # a rolled key's quota moves once it is in its plan


@shared_task(bind=True, max_retries=None)
def run_key_import(self: Task, import_id: int) -> None:
    """Send a bulk key import to API Gateway (keys/imports/); it carries the import's id only."""
    run_import_task(self, import_id)


@shared_task
def expire_keys() -> dict[str, int]:
    """Beat: disable keys whose expiry passed, delete them after the retention, warn owners."""
    return asdict(expiry.process_expiries())


@shared_task
def disable_idle_keys() -> int:
    """Beat: disable keys idle for 90 days in organisations that asked for it."""
    return idle.disable_idle_keys()


@shared_task(bind=True, max_retries=None)
def advance_rotation(self: Task, key_id: int) -> str:
    """Move a rolled key's quota (keys/rotation.py): carry it over, or settle the overlap."""
    attempt, budget_waits = task_attempt(self)
    try:
        return rotation.advance(key_id)
    except TransientSyncError as exc:
        if attempt >= MAX_TRANSIENT_RETRIES:
            return f"gave up for now (the beat job tries again): {exc}"
        raise retry_later(self, exc, attempt=attempt, budget_waits=budget_waits) from exc


@shared_task
def retire_rotated_keys() -> dict[str, int]:
    """Beat: revoke old keys whose grace period ended; advance unfinished quota moves."""
    retired = rotation.retire_rotated_keys()
    pending = rotation.unfinished_rotations()
    for key_id in pending:
        enqueue_on_commit(rotation.ADVANCE_TASK, key_id)
    return {"retired": retired, "advanced": len(pending)}
