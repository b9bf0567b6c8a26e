from dataclasses import asdict

from celery import shared_task

from portal.usage.alerts import send_quota_alerts
from portal.usage.metrics import refresh_api_metrics
from portal.usage.services import collect_usage


@shared_task
def collect_usage_and_alert() -> dict[str, int]:
    result = collect_usage()
    return {**asdict(result), "alerts": send_quota_alerts()}


@shared_task
def warm_api_metrics() -> None:
    """Keep the ops page's default range (24 h) fresh in the cache."""
    refresh_api_metrics(["24h"])
