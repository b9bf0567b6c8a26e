"""The demo REST API that ``make demo`` sells through Tollgate.

A usage plan needs an API stage to point at, and in a fresh local AWS there is none.
This creates a small, realistic one - key-protected methods plus an open health
check - exactly as an API owner would in the console, so the dashboard's stage pickers
and usage-plan forms have something to show.
"""

from __future__ import annotations

from typing import Any

DEMO_API_NAME = "Tollgate Demo API"
DEMO_API_DESCRIPTION = "Weather and geocoding demo API"
DEMO_STAGE = "prod"

# (path, HTTP method, API key required)
_METHODS: tuple[tuple[str, str, bool], ...] = (
    ("/forecast", "GET", True),
    ("/forecast/{city}", "GET", True),
    ("/geocode", "GET", True),
    ("/geocode", "POST", True),
    ("/status", "GET", False),
)


def find_rest_api(client: Any, name: str) -> str | None:
    """Id of the REST API called ``name``, following every page of GetRestApis."""
    for page in client.get_paginator("get_rest_apis").paginate():
        for api in page.get("items", []):
            if api.get("name") == name:
                return str(api["id"])
    return None


def ensure_demo_api(client: Any) -> tuple[str, str]:
    """Create the demo API if missing; return ``(rest_api_id, stage_name)``.

    Idempotent by name. A run interrupted before the deployment is completed on the
    next call (the stage is created if it does not exist yet).
    """
    api_id = find_rest_api(client, DEMO_API_NAME)
    if api_id is None:
        api_id = str(
            client.create_rest_api(
                name=DEMO_API_NAME,
                description=DEMO_API_DESCRIPTION,
                endpointConfiguration={"types": ["REGIONAL"]},
            )["id"]
        )
        _build_resources(client, api_id)
    stages = client.get_stages(restApiId=api_id).get("item", [])
    if not any(stage.get("stageName") == DEMO_STAGE for stage in stages):
        client.create_deployment(
            restApiId=api_id, stageName=DEMO_STAGE, description="Demo deployment"
        )
    return api_id, DEMO_STAGE


def _build_resources(client: Any, api_id: str) -> None:
    resources = client.get_resources(restApiId=api_id)["items"]
    ids: dict[str, str] = {r["path"]: r["id"] for r in resources}
    for path, method, key_required in _METHODS:
        resource_id = _ensure_resource(client, api_id, ids, path)
        client.put_method(
            restApiId=api_id,
            resourceId=resource_id,
            httpMethod=method,
            authorizationType="NONE",
            apiKeyRequired=key_required,
        )
        client.put_method_response(
            restApiId=api_id, resourceId=resource_id, httpMethod=method, statusCode="200"
        )
        client.put_integration(
            restApiId=api_id,
            resourceId=resource_id,
            httpMethod=method,
            type="MOCK",
            requestTemplates={"application/json": '{"statusCode": 200}'},
        )
        client.put_integration_response(
            restApiId=api_id,
            resourceId=resource_id,
            httpMethod=method,
            statusCode="200",
            responseTemplates={"application/json": '{"ok": true}'},
        )


def _ensure_resource(client: Any, api_id: str, ids: dict[str, str], path: str) -> str:
    """Resource id for ``path``, creating missing segments parent-first."""
    if path in ids:
        return ids[path]
    parent_path, _, part = path.rpartition("/")
    parent_id = _ensure_resource(client, api_id, ids, parent_path or "/")
    created = client.create_resource(restApiId=api_id, parentId=parent_id, pathPart=part)
    ids[path] = str(created["id"])
    return ids[path]
