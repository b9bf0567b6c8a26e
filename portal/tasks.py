from celery import shared_task

from keys.models import ApiKey
from keys.tasks import sync_key
from plans.models import Plan
from plans.tasks import sync_plan
from portal.sync import stale_pending


@shared_task
def sweep_pending() -> dict[str, int]:
    """Send again the sync of every change still pending after a while.

    Covers a broker that was down when the change committed, and a worker that died holding
    the message; duplicates are harmless because a sync reads the current desired state.
    """
    plans = stale_pending(Plan)
    for plan_id in plans:
        sync_plan.delay(plan_id)
    keys = stale_pending(ApiKey)
    for key_id in keys:
        sync_key.delay(key_id)
    return {"tiers": len(plans), "keys": len(keys)}
