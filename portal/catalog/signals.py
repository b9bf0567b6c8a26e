"""The export trigger: a stage that is offered and has a deployment we have no document for.

Both moments the issue names save the ApiStage row - ``stage_set_available`` when an admin
offers a stage, ``stages_discover`` when discovery sees a new deployment id - so one
post_save receiver covers them without touching the plans app. The task is sent only once the
transaction commits (a rolled-back change sends nothing); the beat run
``export_stage_documents`` catches anything lost on the way.
"""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_save
from django.dispatch import receiver

from plans.models import ApiStage
from portal.catalog.services import needs_document
from portal.sync import enqueue_on_commit


@receiver(post_save, sender=ApiStage, dispatch_uid="catalog-export-on-stage-save")
def export_when_published_or_redeployed(sender: Any, instance: ApiStage, **kwargs: Any) -> None:
    if kwargs.get("raw"):
        return  # fixtures being loaded
    if needs_document(instance):
        enqueue_on_commit("portal.catalog.tasks.export_stage_document", instance.pk)
