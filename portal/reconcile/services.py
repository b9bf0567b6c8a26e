"""Compare the whole database with API Gateway, in every account and region, and converge, or
show people what differs.

One pass reads each place (portal/reconcile/places.py) in pages — usage plans, API keys (500 a
page), the keys of each of our usage plans there — and makes no write at all when everything is
in sync. A place that cannot be read records why in the run and the others go on. Then, for
each tier and key, copy by copy (portal/reconcile/outcome.py):

- never reached AWS somewhere, or failed → sent to its sync task again;
- deleted here (revoked key, archived tier) but still in AWS → sent to its sync task, which
  deletes it;
- deleted in AWS in some places but not all → its sync recreates the copies there;
- tagged as ours but unknown here (a leftover) → deleted from AWS;
- different in AWS from what we last confirmed (someone used the AWS console), or deleted in
  every place → marked *drifted*, with the differences and where, for an admin to settle on
  the drift page: push ours, or accept AWS's values;
- created outside Tollgate → listed for import, with the place it is in.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction
from django.utils import timezone

from portal.audit.services import audit
from portal.reconcile.compare_keys import reconcile_keys
from portal.reconcile.compare_tiers import known_usage_plans, reconcile_tiers
from portal.reconcile.models import ReconcileRun
from portal.reconcile.places import Estate
from portal.reconcile.report import ReconcileReport
from portal.sync import enqueue_on_commit

logger = logging.getLogger(__name__)

RECONCILE_TASK = "portal.reconcile.tasks.reconcile_with_aws"


@transaction.atomic
def reconcile_requested(*, actor: Any, ip: str | None = None) -> None:
    """A person asks to compare Tollgate with AWS now, instead of waiting for the beat job."""
    audit(actor=actor, action="reconcile.requested", target=None, about="Tollgate and AWS", ip=ip)
    enqueue_on_commit(RECONCILE_TASK)


def reconcile(*, dry_run: bool = False) -> ReconcileReport:
    run = ReconcileRun.objects.create(dry_run=dry_run)
    report = ReconcileReport()
    # AWS is read before the database: a sync that ran meanwhile would look like drift, so
    # rows a sync touched after this moment wait for the next pass.
    read_from = timezone.now()
    try:
        estate = Estate()
        estate.read_all(report, known_usage_plans(estate))
        tiers = reconcile_tiers(report, estate, dry_run, read_from)
        reconcile_keys(report, estate, tiers, dry_run, read_from)
    except Exception as exc:
        run.error = str(exc)[:2000]
        run.places = report.places_json()
        run.finished_at = timezone.now()
        run.save(update_fields=["error", "places", "finished_at"])
        raise
    run.summary = report.summary()
    run.places = report.places_json()
    run.foreign_usage_plans = report.foreign_usage_plans
    run.foreign_key_count = report.foreign_key_count
    run.finished_at = timezone.now()
    run.save()
    return report
