import logging

from celery import shared_task
from celery.app.task import Task

from plans.models import ApiStage
from portal.catalog.services import refresh_stage_document, stages_to_document
from portal.errors import PermanentSyncError, TransientSyncError
from portal.sync import retry_countdown

logger = logging.getLogger(__name__)

MAX_RETRIES = 5


@shared_task(bind=True, max_retries=MAX_RETRIES)
def export_stage_document(self: Task, stage_id: int) -> str:
    """Export one stage's current deployment (sent when a stage is offered or redeployed)."""
    stage = ApiStage.objects.filter(pk=stage_id).first()
    if stage is None:
        return "gone"
    try:
        document = refresh_stage_document(stage)
    except TransientSyncError as exc:
        # AWS throttled or failed: back off (portal.sync's policy); the beat run covers the rest.
        countdown = retry_countdown(exc, self.request.retries, 0)
        raise self.retry(exc=exc, countdown=countdown) from exc
    except PermanentSyncError as exc:
        logger.warning("could not export the OpenAPI document of %s: %s", stage, exc)
        return "failed"
    return "skipped" if document is None else document.deployment_id


@shared_task
def export_stage_documents() -> dict[str, int]:
    """Safety net (beat, every 10 minutes): every offered stage has its current document.

    Costs nothing in AWS when all are current: a stage whose deployment we exported already is
    skipped without a call.
    """
    done = failed = 0
    for stage in stages_to_document():
        try:
            refresh_stage_document(stage)
            done += 1
        except (TransientSyncError, PermanentSyncError) as exc:
            failed += 1
            logger.warning("could not export the OpenAPI document of %s: %s", stage, exc)
    return {"current": done, "failed": failed}
