from celery import shared_task

from portal.reconcile.counts import count_now
from portal.reconcile.services import reconcile


@shared_task
def reconcile_with_aws() -> dict[str, int]:
    return reconcile().summary()


@shared_task
def count_capacity() -> str:
    """Count every place's keys and usage plans for the pages, so that no viewer waits."""
    return count_now().counted_at.isoformat()
