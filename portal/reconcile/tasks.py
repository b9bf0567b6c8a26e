from celery import shared_task

from portal.reconcile.services import reconcile


@shared_task
def reconcile_with_aws() -> dict[str, int]:
    return reconcile().summary()
