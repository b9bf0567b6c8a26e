"""GetExport for REST APIs: the OpenAPI (oas30) or Swagger document of a stage's deployment.

Moto 5.2.5 answers ``GET /restapis/{id}/stages/{stage}/exports/{type}`` with a Swagger 2.0
skeleton whatever the type asked for: it ignores the stage, models, request parameters,
API keys and the ``extensions`` and ``Accept`` headers. The dashboard's API catalog reads
this document, so it is built here the way API Gateway builds it:

* what is exported is the stage's **deployment**, not the API as it is being edited: the
  API's methods and models are captured when CreateDeployment succeeds (``snapshot``) and
  kept on moto's deployment object, so they persist with the rest of moto's state.
  A deployment made before this server started (no snapshot) exports the API as it is now.
* ``info``: ``title`` = the API name, ``description`` = its description, ``version`` = the
  deployment's creation time (``2024-05-01T10:00:00Z``).
* ``servers``: ``https://{api}.execute-api.{region}.amazonaws.com/{basePath}`` with the
  ``basePath`` variable defaulting to the stage name.
* each method: ``operationId`` from its operation name, path/query/header parameters from
  its request parameters, ``requestBody`` from its request models, ``responses`` from its
  method responses (``"{code} response"``, response models as ``$ref``), and
  ``security: [{"api_key": []}]`` when it requires an API key.
* ``components.schemas`` = the API's models (``Empty``, ``Error`` always, as AWS creates
  them); ``components.securitySchemes.api_key`` = an ``apiKey`` in the ``x-api-key`` header.
* ``?extensions=integrations`` (or ``apigateway``) adds ``x-amazon-apigateway-integration``
  to each method; ``apigateway`` also adds ``x-amazon-apigateway-api-key-source``.
* ``Accept: application/yaml`` returns YAML, anything else JSON. The answer carries the
  document as the raw body with ``Content-Type`` and ``Content-Disposition: attachment;
  filename="..."`` headers, which botocore maps to ``body`` (a stream), ``contentType`` and
  ``contentDisposition``. ``Content-Type`` is ``application/octet-stream`` whatever was
  asked for: AWS answered so to botocore's default ``Accept: application/json`` in
  LocalStack's AWS-validated ``test_export_swagger_openapi`` and ``test_export_oas30_openapi``
  (tests/aws/services/apigateway/test_apigateway_extended.snapshot.json), although the API
  Reference says the type "will correspond to a valid 'accept' type in the request"; that
  YAML is labelled the same way is our assumption (no recorded answer).
"""

from __future__ import annotations

import copy
import datetime
import json
import re
from typing import Any

import yaml

from localaws.strict import ApiError, apigateway_backend

EXPORT_TYPES = ("oas30", "swagger")
# How AWS labels every export (see the module docstring).
EXPORT_CONTENT_TYPE = "application/octet-stream"
INTEGRATION_EXTENSION = "x-amazon-apigateway-integration"
_SNAPSHOT_ATTR = "localaws_export_snapshot"
_PARAM = re.compile(r"^method\.request\.(path|querystring|header)\.(.+)$")
_IN = {"path": "path", "querystring": "query", "header": "header"}
# API Gateway gives every new REST API these two models.
_DEFAULT_MODELS: dict[str, dict[str, Any]] = {
    "Empty": {"title": "Empty Schema", "type": "object"},
    "Error": {
        "title": "Error Schema",
        "type": "object",
        "properties": {"message": {"type": "string"}},
    },
}


# --- snapshots of what a deployment holds -----------------------------------------------------


def snapshot(account: str, region: str, api_id: str, deployment_id: str) -> None:
    """Capture the API's methods and models into the new deployment (after CreateDeployment)."""
    api = apigateway_backend(account, region).apis.get(api_id)
    if api is None or deployment_id not in api.deployments:
        return
    setattr(api.deployments[deployment_id], _SNAPSHOT_ATTR, _capture(api))


def deployed_methods(deployment: Any) -> list[dict[str, Any]] | None:
    """The methods captured when ``deployment`` was made (None: made unseen by this server).
    The local gateway serves these, as API Gateway serves a stage's deployment."""
    captured = getattr(deployment, _SNAPSHOT_ATTR, None)
    return None if captured is None else list(captured["methods"])


def _capture(api: Any) -> dict[str, Any]:
    methods = []
    for resource in api.resources.values():
        for method in resource.resource_methods.values():
            integration = method.method_integration
            methods.append(
                {
                    "path": resource.get_path(),
                    "httpMethod": method.http_method,
                    "apiKeyRequired": bool(method.api_key_required),
                    "operationName": method.operation_name,
                    "requestParameters": dict(method.request_parameters or {}),
                    "requestModels": dict(method.request_models or {}),
                    "methodResponses": {
                        code: {
                            "responseModels": dict(response.response_models or {}),
                            "responseParameters": dict(response.response_parameters or {}),
                        }
                        for code, response in method.method_responses.items()
                    },
                    "integration": copy.deepcopy(integration.to_json()) if integration else None,
                }
            )
    models = {}
    for model in api.models.values():
        schema = model.schema
        if isinstance(schema, str):
            try:
                schema = json.loads(schema) if schema.strip() else {}
            except ValueError:
                schema = {}
        models[model.name] = {
            "schema": schema or {},
            "description": model.description or "",
        }
    return {
        "name": api.name,
        "description": api.description or "",
        "apiKeySource": api.api_key_source or "HEADER",
        "methods": methods,
        "models": models,
    }


# --- GetExport --------------------------------------------------------------------------------


def get_export(
    account: str,
    region: str,
    api_id: str,
    stage_name: str,
    export_type: str,
    query: dict[str, str],
    accept: str,
) -> tuple[bytes, str, str]:
    """(body, content type, content disposition) of GetExport, or ``ApiError`` as AWS says it."""
    backend = apigateway_backend(account, region)
    api = backend.apis.get(api_id)
    if api is None:
        # Not "Invalid API identifier": moto's export_api maps a missing API to the stage
        # error on purpose, taken here as AWS's wording (the API Reference does not say).
        raise ApiError(404, "NotFoundException", "Invalid stage identifier specified")
    stage = api.stages.get(stage_name)
    if stage is None:
        raise ApiError(404, "NotFoundException", "Invalid stage identifier specified")
    if export_type not in EXPORT_TYPES:
        raise ApiError(400, "BadRequestException", f"No API exporter for type '{export_type}'")
    deployment = api.deployments.get(stage.deployment_id or "")
    captured = getattr(deployment, _SNAPSHOT_ATTR, None) or _capture(api)
    created = getattr(deployment, "created_date", None) or api.create_date
    version = datetime.datetime.fromtimestamp(created, datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    extensions = {e.strip() for e in query.get("extensions", "").split(",") if e.strip()}
    host = f"{api_id}.execute-api.{region}.amazonaws.com"
    if export_type == "oas30":
        document = openapi_document(captured, host, stage_name, version, extensions)
    else:
        document = swagger_document(captured, host, stage_name, version, extensions)
    if "yaml" in accept.lower():
        body, suffix = yaml.safe_dump(document, sort_keys=False).encode(), "yaml"
    else:
        body, suffix = json.dumps(document, indent=2).encode(), "json"
    disposition = f'attachment; filename="{export_type}_{version}.{suffix}"'
    return body, EXPORT_CONTENT_TYPE, disposition


def _operations(captured: dict[str, Any]) -> list[dict[str, Any]]:
    return sorted(captured["methods"], key=lambda m: (m["path"], m["httpMethod"]))


def _parameters(method: dict[str, Any], swagger: bool) -> list[dict[str, Any]]:
    found = []
    for key, required in sorted(method["requestParameters"].items()):
        match = _PARAM.match(key)
        if not match:
            continue
        where = _IN[match.group(1)]
        param: dict[str, Any] = {"name": match.group(2), "in": where}
        if where == "path" or required:
            param["required"] = True
        if swagger:
            param["type"] = "string"
        else:
            param["schema"] = {"type": "string"}
        found.append(param)
    return found


def _integration(method: dict[str, Any]) -> dict[str, Any] | None:
    integration = method.get("integration")
    if not integration:
        return None
    out: dict[str, Any] = {"type": str(integration.get("type", "")).lower()}
    for source, target in (
        ("uri", "uri"),
        ("httpMethod", "httpMethod"),
        ("requestTemplates", "requestTemplates"),
        ("passthroughBehavior", "passthroughBehavior"),
        ("requestParameters", "requestParameters"),
        ("timeoutInMillis", "timeoutInMillis"),
    ):
        if integration.get(source):
            out[target] = integration[source]
    responses = {}
    for code, response in (integration.get("integrationResponses") or {}).items():
        entry: dict[str, Any] = {"statusCode": code}
        if response.get("responseTemplates"):
            entry["responseTemplates"] = response["responseTemplates"]
        responses[response.get("selectionPattern") or "default"] = entry
    if responses:
        out["responses"] = responses
    return out


def _schemas(captured: dict[str, Any], ref_root: str) -> dict[str, Any]:
    schemas = copy.deepcopy(_DEFAULT_MODELS)
    for name, model in captured["models"].items():
        schema = {k: v for k, v in model["schema"].items() if k != "$schema"}
        schemas[name] = _rewrite_refs(schema, ref_root)
    return schemas


def _rewrite_refs(value: Any, ref_root: str) -> Any:
    """Model schemas point at other models by their API Gateway URL; the export uses $refs."""
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if key == "$ref" and isinstance(item, str) and "/models/" in item:
                out[key] = ref_root + item.rsplit("/", 1)[-1]
            else:
                out[key] = _rewrite_refs(item, ref_root)
        return out
    if isinstance(value, list):
        return [_rewrite_refs(item, ref_root) for item in value]
    return value


def _info(captured: dict[str, Any], version: str) -> dict[str, Any]:
    info: dict[str, Any] = {"title": captured["name"]}
    if captured["description"]:
        info["description"] = captured["description"]
    info["version"] = version
    return info


def openapi_document(
    captured: dict[str, Any], host: str, stage_name: str, version: str, extensions: set[str]
) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    ref = "#/components/schemas/"
    with_integrations = bool(extensions & {"integrations", "apigateway"})
    for method in _operations(captured):
        operation: dict[str, Any] = {}
        if method["operationName"]:
            operation["operationId"] = method["operationName"]
        parameters = _parameters(method, swagger=False)
        if parameters:
            operation["parameters"] = parameters
        if method["requestModels"]:
            operation["requestBody"] = {
                "content": {
                    content_type: {"schema": {"$ref": ref + model}}
                    for content_type, model in sorted(method["requestModels"].items())
                },
                "required": True,
            }
        responses: dict[str, Any] = {}
        for code, response in sorted(method["methodResponses"].items()):
            entry: dict[str, Any] = {"description": f"{code} response"}
            if response["responseModels"]:
                entry["content"] = {
                    content_type: {"schema": {"$ref": ref + model}}
                    for content_type, model in sorted(response["responseModels"].items())
                }
            responses[code] = entry
        operation["responses"] = responses
        if method["apiKeyRequired"]:
            operation["security"] = [{"api_key": []}]
        if with_integrations and _integration(method):
            operation[INTEGRATION_EXTENSION] = _integration(method)
        paths.setdefault(method["path"], {})[method["httpMethod"].lower()] = operation
    document: dict[str, Any] = {
        "openapi": "3.0.1",
        "info": _info(captured, version),
        "servers": [
            {
                "url": f"https://{host}/{{basePath}}",
                "variables": {"basePath": {"default": stage_name}},
            }
        ],
        "paths": paths,
        "components": {
            "schemas": _schemas(captured, ref),
            "securitySchemes": {"api_key": {"type": "apiKey", "name": "x-api-key", "in": "header"}},
        },
    }
    if "apigateway" in extensions:
        document["x-amazon-apigateway-api-key-source"] = captured["apiKeySource"]
    return document


def swagger_document(
    captured: dict[str, Any], host: str, stage_name: str, version: str, extensions: set[str]
) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    ref = "#/definitions/"
    with_integrations = bool(extensions & {"integrations", "apigateway"})
    for method in _operations(captured):
        operation: dict[str, Any] = {}
        if method["operationName"]:
            operation["operationId"] = method["operationName"]
        content_types = sorted(method["requestModels"])
        if content_types:
            operation["consumes"] = content_types
        operation["produces"] = ["application/json"]
        parameters = _parameters(method, swagger=True)
        for _content_type, model in sorted(method["requestModels"].items())[:1]:
            parameters.append(
                {"in": "body", "name": model, "required": True, "schema": {"$ref": ref + model}}
            )
        if parameters:
            operation["parameters"] = parameters
        responses: dict[str, Any] = {}
        for code, response in sorted(method["methodResponses"].items()):
            entry: dict[str, Any] = {"description": f"{code} response"}
            for model in list(response["responseModels"].values())[:1]:
                entry["schema"] = {"$ref": ref + model}
            responses[code] = entry
        operation["responses"] = responses
        if method["apiKeyRequired"]:
            operation["security"] = [{"api_key": []}]
        if with_integrations and _integration(method):
            operation[INTEGRATION_EXTENSION] = _integration(method)
        paths.setdefault(method["path"], {})[method["httpMethod"].lower()] = operation
    document: dict[str, Any] = {
        "swagger": "2.0",
        "info": _info(captured, version),
        "host": host,
        "basePath": f"/{stage_name}",
        "schemes": ["https"],
        "paths": paths,
        "securityDefinitions": {"api_key": {"type": "apiKey", "name": "x-api-key", "in": "header"}},
        "definitions": _schemas(captured, ref),
    }
    if "apigateway" in extensions:
        document["x-amazon-apigateway-api-key-source"] = captured["apiKeySource"]
    return document
