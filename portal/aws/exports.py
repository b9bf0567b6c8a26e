"""API Gateway's GetExport: the OpenAPI document of a deployed REST API stage."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from portal.aws.clients import apigateway
from portal.aws.errors import aws_errors
from portal.errors import PermanentSyncError


@dataclass(frozen=True)
class ExportedDocument:
    document: dict[str, Any]
    raw_size: int


def export_openapi(rest_api_id: str, stage_name: str) -> ExportedDocument:
    """The stage's deployment as OpenAPI 3.0 JSON, without API Gateway extensions
    (no ``extensions`` parameter: AWS then leaves out integrations and authorizers)."""
    with aws_errors():
        answer = apigateway().get_export(
            restApiId=rest_api_id,
            stageName=stage_name,
            exportType="oas30",
            accepts="application/json",
        )
        raw = answer["body"].read()
    try:
        document = json.loads(raw)
    except ValueError as exc:
        raise PermanentSyncError(f"GetExport returned a document that is not JSON: {exc}") from exc
    if not isinstance(document, dict):
        raise PermanentSyncError("GetExport returned JSON that is not an OpenAPI document")
    return ExportedDocument(document=document, raw_size=len(raw))
