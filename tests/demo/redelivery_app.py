"""The Celery app of the worker subprocesses of test_redelivery.py: Tollgate's own (its
settings, acks late, the lease renewal of portal/celery_lease.py) plus one task that records
each run.

`celery -A tests.demo.redelivery_app worker ...` with DJANGO_SETTINGS_MODULE=tests.settings and
CELERY_BROKER_URL / CELERY_VISIBILITY_TIMEOUT set by the test.
"""

from __future__ import annotations

import time
from pathlib import Path

from celery import shared_task

from portal.celery import app

__all__ = ["app", "record_run"]


@shared_task(name="tests.demo.record_run")
def record_run(path: str, first_run_seconds: float) -> int:
    """Append a line to `path`; the first run then sleeps (long enough to be killed in)."""
    runs = Path(path)
    with runs.open("a") as handle:
        handle.write(f"{time.time():.3f}\n")
    count = len(runs.read_text().splitlines())
    if count == 1:
        time.sleep(first_run_seconds)
    return count
