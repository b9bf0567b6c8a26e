from celery import shared_task
from celery.app.task import Task

from keys.models import ApiKey
from keys.sync import push_key
from portal.sync import run_sync_task


@shared_task(bind=True, max_retries=None)
def sync_key(self: Task, key_id: int) -> None:
    run_sync_task(self, ApiKey, key_id, push_key)
