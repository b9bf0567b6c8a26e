"""Keeping each offered stage's OpenAPI document current. Runs in Celery tasks, never on a page."""

from __future__ import annotations

import logging
from typing import Any

from django.db import IntegrityError, transaction

from plans.locations import stage_locations
from plans.models import ApiStage
from plans.stages import stage_record_operations
from portal.aws.exports import export_openapi
from portal.aws.location import at
from portal.catalog.models import ApiDocument
from portal.catalog.presenters import call_target, operations

logger = logging.getLogger(__name__)

EXTENSION_PREFIX = "x-amazon-apigateway-"


def strip_extensions(value: Any) -> Any:
    """The document without API Gateway's ``x-amazon-apigateway-*`` keys, at any depth: they
    describe our integrations (back-end URIs, mapping templates), not what a customer calls."""
    if isinstance(value, dict):
        return {
            key: strip_extensions(item)
            for key, item in value.items()
            if not (isinstance(key, str) and key.startswith(EXTENSION_PREFIX))
        }
    if isinstance(value, list):
        return [strip_extensions(item) for item in value]
    return value


def stages_to_document() -> list[ApiStage]:
    """Stages offered to tiers and still in AWS: the ones the catalog shows."""
    return list(
        ApiStage.objects.filter(available=True, missing_since__isnull=True).exclude(
            deployment_id=""
        )
    )


def needs_document(stage: ApiStage) -> bool:
    return bool(
        stage.available
        and stage.missing_since is None
        and stage.deployment_id
        and not ApiDocument.objects.filter(stage=stage, deployment_id=stage.deployment_id).exists()
    )


def refresh_stage_document(stage: ApiStage) -> ApiDocument | None:
    """Export the stage's current deployment unless we hold it already (GetExport only then).

    Returns the document for the stage's current deployment, or None for a stage without one
    (not offered, gone from AWS, or never deployed). AWS errors propagate as the sync errors of
    ``portal.aws.errors`` so the task can decide to retry.
    """
    stage.refresh_from_db()
    if not (stage.available and stage.missing_since is None and stage.deployment_id):
        return None
    deployment_id = stage.deployment_id
    existing = ApiDocument.objects.filter(stage=stage, deployment_id=deployment_id).first()
    if existing is not None:
        if stage.operations is None or stage.key_operations is None:  # recorded before either
            record_operations(stage, existing)
        return existing
    with at(stage_locations([stage])[stage.pk]):  # the stage's own account and region
        exported = export_openapi(stage.rest_api_id, stage.stage_name)
    try:
        with transaction.atomic():
            document = ApiDocument.objects.create(
                stage=stage,
                deployment_id=deployment_id,
                document=strip_extensions(exported.document),
                raw_size=exported.raw_size,
            )
    except IntegrityError:
        # Another worker exported the same deployment a moment ago: theirs is as good.
        return ApiDocument.objects.get(stage=stage, deployment_id=deployment_id)
    record_operations(stage, document)
    logger.info("exported %s deployment %s (%d bytes)", stage, deployment_id, exported.raw_size)
    return document


def record_operations(stage: ApiStage, document: ApiDocument) -> None:
    """Tell the stage which methods its API has, for the tiers' per-method limits, and which
    need an API key, as calls, for the key page's ready `curl` line (plans.calls)."""
    found = operations(document.document)
    stage_record_operations(
        stage=stage,
        operations=(f"{op.method} {op.path}" for op in found),
        key_operations=(call_target(op) for op in found if op.key_required),
    )


def current_document(stage: ApiStage) -> ApiDocument | None:
    """What a page shows: the current deployment's document, else the newest one we have
    (a new deployment waits for its export for a moment; the older version is still right
    about most of the API). Reads the database only."""
    return (
        ApiDocument.objects.filter(stage=stage, deployment_id=stage.deployment_id).first()
        or ApiDocument.objects.filter(stage=stage).order_by("-exported_at", "-pk").first()
    )
