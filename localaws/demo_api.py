"""The demo REST API that ``make demo`` sells through Tollgate.

A usage plan needs an API stage to point at, and in a fresh local AWS there is none.
This creates a small, realistic one - key-protected methods plus an open health
check, with request and response models and operation names - exactly as an API owner
would in the console, so the dashboard's stage pickers, usage-plan forms and API catalog
(GetExport) have something to show.

Every method is a MOCK integration answering 200 with an example body of its response
model (the request template picks the status, the integration response gives the body),
so a call through the local gateway returns what the catalog documents. And, as sellers
publish their APIs, the stage has a custom domain: ``api.tollgate.localhost/v1``
(``*.localhost`` names resolve to 127.0.0.1 in curl and browsers; the local gateway routes
by the Host header, whatever the port).
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass, field
from typing import Any

DEMO_API_NAME = "Tollgate Demo API"
DEMO_API_DESCRIPTION = "Weather and geocoding demo API"
DEMO_STAGE = "prod"
DEMO_DOMAIN = "api.tollgate.localhost"
DEMO_BASE_PATH = "v1"
# A regional custom domain needs an ACM certificate of its account and region. The local
# gateway serves plain HTTP and nothing checks this one: a stand-in ARN.
_CERTIFICATE_ARN = "arn:aws:acm:{region}:{account}:certificate/tollgate-demo-localhost"
MAIN_ACCOUNT_ID = "123456789012"  # moto's default account: where unknown access keys land

# The models the methods take and return (JSON Schema draft 4, as API Gateway stores them);
# "{models}" becomes the API's models URL, which is how one model refers to another.
_MODELS: tuple[tuple[str, str, dict[str, Any]], ...] = (
    (
        "ForecastDay",
        "One day of a forecast.",
        {
            "type": "object",
            "required": ["date", "summary", "highC", "lowC"],
            "properties": {
                "date": {"type": "string", "format": "date"},
                "summary": {"type": "string", "example": "Light rain"},
                "highC": {"type": "number", "example": 14.5},
                "lowC": {"type": "number", "example": 7.0},
                "precipitationMm": {"type": "number", "example": 2.4},
            },
        },
    ),
    (
        "Forecast",
        "A city's forecast, one entry per day.",
        {
            "type": "object",
            "required": ["city", "days"],
            "properties": {
                "city": {"type": "string", "example": "Lisbon"},
                "days": {"type": "array", "items": {"$ref": "{models}/ForecastDay"}},
            },
        },
    ),
    (
        "GeocodeRequest",
        "Addresses to geocode in one request (at most 50).",
        {
            "type": "object",
            "required": ["addresses"],
            "properties": {
                "addresses": {
                    "type": "array",
                    "maxItems": 50,
                    "items": {"type": "string", "example": "1 Infinite Loop, Cupertino"},
                }
            },
        },
    ),
    (
        "Geocode",
        "Places matching a query, best first.",
        {
            "type": "object",
            "required": ["results"],
            "properties": {
                "results": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "query": {"type": "string"},
                            "name": {"type": "string", "example": "Lisbon, Portugal"},
                            "lat": {"type": "number", "example": 38.7223},
                            "lon": {"type": "number", "example": -9.1393},
                        },
                    },
                }
            },
        },
    ),
    (
        "CityList",
        "Cities with forecasts.",
        {
            "type": "object",
            "properties": {"cities": {"type": "array", "items": {"type": "string"}}},
        },
    ),
    (
        "Status",
        "Service health.",
        {
            "type": "object",
            "required": ["status"],
            "properties": {
                "status": {"type": "string", "enum": ["ok", "degraded"]},
                "version": {"type": "string", "example": "2024.05"},
            },
        },
    ),
)


# What the MOCK integrations answer: one example of each response model (2024's dates: the
# stand-in cannot know today's, and a mock that pretends to would mislead).
_FORECAST = {
    "city": "Lisbon",
    "days": [
        {
            "date": "2024-05-01",
            "summary": "Light rain",
            "highC": 14.5,
            "lowC": 7.0,
            "precipitationMm": 2.4,
        },
        {
            "date": "2024-05-02",
            "summary": "Sunny intervals",
            "highC": 17.0,
            "lowC": 8.5,
            "precipitationMm": 0.0,
        },
        {"date": "2024-05-03", "summary": "Clear", "highC": 19.5, "lowC": 10.0},
    ],
}
_LISBON = {"query": "Lisbon", "name": "Lisbon, Portugal", "lat": 38.7223, "lon": -9.1393}
_GEOCODE_BATCH = {
    "results": [
        {
            "query": "1 Infinite Loop, Cupertino",
            "name": "1 Infinite Loop, Cupertino, CA 95014, USA",
            "lat": 37.3318,
            "lon": -122.0312,
        },
        {
            "query": "Praça do Comércio, Lisboa",
            "name": "Praça do Comércio, 1100-148 Lisboa, Portugal",
            "lat": 38.7075,
            "lon": -9.1364,
        },
    ]
}


@dataclass(frozen=True)
class _Method:
    path: str
    http_method: str
    key_required: bool
    operation_name: str
    response_model: str
    example: dict[str, Any]  # the 200 body, an instance of response_model
    request_parameters: dict[str, bool] = field(default_factory=dict)
    request_model: str | None = None
    error_codes: tuple[str, ...] = ()


_METHODS: tuple[_Method, ...] = (
    _Method(
        "/forecast",
        "GET",
        True,
        "GetForecast",
        "Forecast",
        _FORECAST,
        {"method.request.querystring.city": True, "method.request.querystring.days": False},
        error_codes=("400",),
    ),
    _Method(
        "/forecast/{city}",
        "GET",
        True,
        "GetCityForecast",
        "Forecast",
        _FORECAST,
        {"method.request.path.city": True, "method.request.querystring.days": False},
        error_codes=("404",),
    ),
    _Method(
        "/cities",
        "GET",
        True,
        "ListCities",
        "CityList",
        {"cities": ["Berlin", "Lisbon", "Madrid", "Paris", "Porto"]},
    ),
    _Method(
        "/geocode",
        "GET",
        True,
        "Geocode",
        "Geocode",
        {"results": [_LISBON]},
        {"method.request.querystring.q": True},
        error_codes=("400",),
    ),
    _Method(
        "/geocode",
        "POST",
        True,
        "GeocodeBatch",
        "Geocode",
        _GEOCODE_BATCH,
        request_model="GeocodeRequest",
        error_codes=("400",),
    ),
    _Method("/status", "GET", False, "GetStatus", "Status", {"status": "ok", "version": "2024.05"}),
)


def find_rest_api(client: Any, name: str) -> str | None:
    """Id of the REST API called ``name``, following every page of GetRestApis."""
    for page in client.get_paginator("get_rest_apis").paginate():
        for api in page.get("items", []):
            if api.get("name") == name:
                return str(api["id"])
    return None


def ensure_demo_api(
    client: Any, domain: str = DEMO_DOMAIN, account: str = MAIN_ACCOUNT_ID
) -> tuple[str, str]:
    """Create the demo API if missing; return ``(rest_api_id, stage_name)``.

    ``client`` decides the account and region; ``domain`` is the custom domain published
    there (``account`` only names the stand-in certificate). ``localaws.demo_estate`` calls
    this once per account and region of the demo.

    Idempotent by name. A run interrupted before the deployment is completed on the
    next call (the stage is created if it does not exist yet), and so are the custom
    domain and its mapping. The mock answers are written and deployed on every call, so
    a state saved by an older demo answers with today's examples.
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
    _put_mock_answers(client, api_id)
    stages = client.get_stages(restApiId=api_id).get("item", [])
    if not any(stage.get("stageName") == DEMO_STAGE for stage in stages):
        client.create_deployment(
            restApiId=api_id, stageName=DEMO_STAGE, description="Demo deployment"
        )
    else:
        # A stage serves the API as it was deployed (as AWS does): redeploy so today's mock
        # answers are live. Not create_deployment(stageName=...): moto then replaces the stage
        # and drops its method settings.
        deployment = client.create_deployment(restApiId=api_id, description="Demo deployment")
        client.update_stage(
            restApiId=api_id,
            stageName=DEMO_STAGE,
            patchOperations=[{"op": "replace", "path": "/deploymentId", "value": deployment["id"]}],
        )
    _ensure_domain(client, api_id, domain, account)
    return api_id, DEMO_STAGE


def _ensure_domain(client: Any, api_id: str, domain: str, account: str) -> None:
    """``domain`` (a regional custom domain, e.g. ``api.tollgate.localhost``) with base path
    ``v1`` mapped to the demo stage, as a seller publishes an API."""
    try:
        client.get_domain_name(domainName=domain)
    except client.exceptions.NotFoundException:
        client.create_domain_name(
            domainName=domain,
            regionalCertificateArn=_CERTIFICATE_ARN.format(
                region=client.meta.region_name, account=account
            ),
            endpointConfiguration={"types": ["REGIONAL"]},
            securityPolicy="TLS_1_2",
        )
    # ConflictException: mapped by an earlier start (the demo API keeps its id, found by name).
    with contextlib.suppress(client.exceptions.ConflictException):
        client.create_base_path_mapping(
            domainName=domain, restApiId=api_id, basePath=DEMO_BASE_PATH, stage=DEMO_STAGE
        )


def _put_mock_answers(client: Any, api_id: str) -> None:
    """Each method's MOCK integration: the request template picks 200, whose integration
    response (the default one: no selection pattern) answers the method's example."""
    ids = {r["path"]: r["id"] for r in client.get_resources(restApiId=api_id, limit=500)["items"]}
    for m in _METHODS:
        where = {"restApiId": api_id, "resourceId": ids[m.path], "httpMethod": m.http_method}
        client.put_integration(
            **where,
            type="MOCK",
            requestTemplates={"application/json": '{"statusCode": 200}'},
        )
        client.put_integration_response(
            **where,
            statusCode="200",
            responseTemplates={"application/json": json.dumps(m.example, ensure_ascii=False)},
        )


def _build_resources(client: Any, api_id: str) -> None:
    models_url = f"https://apigateway.amazonaws.com/restapis/{api_id}/models"
    for name, description, schema in _MODELS:
        client.create_model(
            restApiId=api_id,
            name=name,
            description=description,
            contentType="application/json",
            schema=json.dumps(
                {"$schema": "http://json-schema.org/draft-04/schema#", "title": name, **schema}
            ).replace("{models}", models_url),
        )
    resources = client.get_resources(restApiId=api_id)["items"]
    ids: dict[str, str] = {r["path"]: r["id"] for r in resources}
    for m in _METHODS:
        resource_id = _ensure_resource(client, api_id, ids, m.path)
        where = {"restApiId": api_id, "resourceId": resource_id, "httpMethod": m.http_method}
        client.put_method(
            **where,
            authorizationType="NONE",
            apiKeyRequired=m.key_required,
            operationName=m.operation_name,
            requestParameters=m.request_parameters,
            requestModels={"application/json": m.request_model} if m.request_model else {},
        )
        client.put_method_response(
            **where, statusCode="200", responseModels={"application/json": m.response_model}
        )
        for code in m.error_codes:
            client.put_method_response(
                **where, statusCode=code, responseModels={"application/json": "Error"}
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
