import os

from celery import Celery

from portal.celery_lease import RenewLeases

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

app = Celery("tollgate")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# The kernel's own task (the pending-sync sweep) lives beside the sync engine, not in an app.
app.conf.include = ["portal.sync"]
# Only a dead worker's unacknowledged messages are delivered again (portal/celery_lease.py).
app.steps["consumer"].add(RenewLeases)
