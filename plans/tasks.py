from celery import shared_task
from celery.app.task import Task

from plans.models import Plan
from plans.move_runner import run_move_task
from plans.moves import RUN_MOVE_TASK, stalled_moves
from plans.stages import stages_discover
from plans.sync import push_plan
from portal.sync import run_sync_task, send_task


@shared_task(bind=True, max_retries=None)
def sync_plan(self: Task, plan_id: int) -> None:
    run_sync_task(self, Plan, plan_id, push_plan)


@shared_task
def discover_stages() -> None:
    stages_discover()


@shared_task(bind=True, max_retries=None)
def run_tier_move(self: Task, move_id: int) -> None:
    """Move the customers of a bulk tier move, a batch at a time (plans/moves.py); it carries
    the move's id only and queues its own next run."""
    run_move_task(self, move_id)


@shared_task
def resume_stalled_tier_moves() -> int:
    """Beat: send again the moves whose task was lost (a broker down, a worker killed)."""
    moves = stalled_moves()
    for move_id in moves:
        send_task(RUN_MOVE_TASK, move_id)
    return len(moves)
