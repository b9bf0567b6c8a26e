from dataclasses import asdict

from celery import shared_task

from portal.usage.services import collect_usage, send_quota_alerts


@shared_task
def collect_usage_and_alert() -> dict[str, int]:
    result = collect_usage()
    return {**asdict(result), "alerts": send_quota_alerts()}
