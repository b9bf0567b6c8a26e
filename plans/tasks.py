from celery import shared_task
from celery.app.task import Task

from plans.models import Plan
from plans.stages import stages_discover
from plans.sync import push_plan
from portal.sync import run_sync_task


@shared_task(bind=True, max_retries=None)
def sync_plan(self: Task, plan_id: int) -> None:
    run_sync_task(self, Plan, plan_id, push_plan)


@shared_task
def discover_stages() -> None:
    stages_discover()
