from dataclasses import asdict

from celery import Task, shared_task
from django.utils import timezone

from portal.sync import object_lock
from portal.usage.alerts import send_quota_alerts
from portal.usage.metrics import refresh_api_metrics
from portal.usage.rollups import ROLL_UP_LOCK, ROLL_UP_LOCK_SECONDS, refresh_stale_totals
from portal.usage.services import collect_usage
from portal.usage.watch import refresh_quota_watch_counts


@shared_task
def collect_usage_and_alert() -> dict[str, int]:
    result = collect_usage()
    # The ops page's quota-watch counts read every key past 80% (thousands at scale): counted
    # once here, after the roll-ups changed, instead of on every view.
    refresh_quota_watch_counts(timezone.now().date())
    return {**asdict(result), "alerts": send_quota_alerts()}


@shared_task
def warm_api_metrics() -> None:
    """Keep the ops page's default range (24 h) fresh in the cache."""
    refresh_api_metrics(["24h"])


@shared_task(bind=True, max_retries=30)
def refresh_usage_totals(self: Task) -> list[int]:
    """Rebuild the current period's roll-ups of every tier whose quota changed (the tiers);
    after the collection running now, if one is (it holds the roll-ups' lock)."""
    with object_lock(ROLL_UP_LOCK, ttl_seconds=ROLL_UP_LOCK_SECONDS) as acquired:
        if not acquired:
            raise self.retry(countdown=30)
        rebuilt = refresh_stale_totals(timezone.now().date())
    refresh_quota_watch_counts(timezone.now().date())
    return rebuilt
