from celery import shared_task
from celery.app.task import Task

from keys.imports.running import run_import_task
from keys.models import ApiKey
from keys.sync import push_key
from portal.sync import run_sync_task


@shared_task(bind=True, max_retries=None)
def sync_key(self: Task, key_id: int) -> None:
    run_sync_task(self, ApiKey, key_id, push_key)


@shared_task(bind=True, max_retries=None)
def run_key_import(self: Task, import_id: int) -> None:
    """Send a bulk key import to API Gateway (keys/imports/); it carries the import's id only."""
    run_import_task(self, import_id)
