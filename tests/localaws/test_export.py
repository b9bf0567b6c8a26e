"""GetExport answers as API Gateway does: the stage's deployment as OpenAPI 3.0 or Swagger 2.0."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml
from botocore.exceptions import ClientError

from localaws.demo_api import ensure_demo_api

pytestmark = pytest.mark.integration


def export(
    apigw: Any, api_id: str, stage: str = "prod", **kwargs: Any
) -> tuple[dict[str, Any], Any]:
    answer = apigw.get_export(restApiId=api_id, stageName=stage, **kwargs)
    body = answer["body"].read()
    yaml_file = answer["contentDisposition"].endswith('.yaml"')
    parsed = yaml.safe_load(body) if yaml_file else json.loads(body)
    return parsed, answer


def operations(document: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (path, method.upper()): operation
        for path, item in document["paths"].items()
        for method, operation in item.items()
    }


def test_oas30_json_describes_the_stage(apigw: Any) -> None:
    api_id, stage = ensure_demo_api(apigw)

    document, answer = export(apigw, api_id, exportType="oas30", accepts="application/json")

    # AWS labels every export so, whatever the Accept header (localaws.export).
    assert answer["contentType"] == "application/octet-stream"
    assert answer["contentDisposition"].startswith('attachment; filename="oas30_')
    assert answer["contentDisposition"].endswith('Z.json"')
    assert document["openapi"] == "3.0.1"
    assert document["info"]["title"] == "Tollgate Demo API"
    assert document["info"]["description"] == "Weather and geocoding demo API"
    assert document["servers"] == [
        {
            "url": f"https://{api_id}.execute-api.us-east-1.amazonaws.com/{{basePath}}",
            "variables": {"basePath": {"default": "prod"}},
        }
    ]
    assert document["components"]["securitySchemes"] == {
        "api_key": {"type": "apiKey", "name": "x-api-key", "in": "header"}
    }
    ops = operations(document)
    assert set(ops) == {
        ("/forecast", "GET"),
        ("/forecast/{city}", "GET"),
        ("/cities", "GET"),
        ("/geocode", "GET"),
        ("/geocode", "POST"),
        ("/status", "GET"),
    }
    # A key is required everywhere but the health check.
    assert "security" not in ops[("/status", "GET")]
    for key, operation in ops.items():
        if key != ("/status", "GET"):
            assert operation["security"] == [{"api_key": []}], key
    city = ops[("/forecast/{city}", "GET")]
    assert city["operationId"] == "GetCityForecast"
    assert {"name": "city", "in": "path", "required": True, "schema": {"type": "string"}} in city[
        "parameters"
    ]
    assert city["responses"]["200"] == {
        "description": "200 response",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Forecast"}}},
    }
    assert ops[("/geocode", "POST")]["requestBody"]["content"] == {
        "application/json": {"schema": {"$ref": "#/components/schemas/GeocodeRequest"}}
    }
    schemas = document["components"]["schemas"]
    assert {"Empty", "Error", "Forecast", "ForecastDay", "Geocode", "GeocodeRequest"} <= set(
        schemas
    )
    # A model's reference to another model (an API Gateway URL) becomes a component $ref.
    assert schemas["Forecast"]["properties"]["days"]["items"] == {
        "$ref": "#/components/schemas/ForecastDay"
    }
    # No extensions unless asked for.
    assert "x-amazon-apigateway" not in json.dumps(document)


def test_extensions_add_the_integrations(apigw: Any) -> None:
    api_id, _ = ensure_demo_api(apigw)

    document, _ = export(
        apigw, api_id, exportType="oas30", parameters={"extensions": "integrations"}
    )
    integration = operations(document)[("/status", "GET")]["x-amazon-apigateway-integration"]
    assert integration["type"] == "mock"
    assert "x-amazon-apigateway-api-key-source" not in document

    document, _ = export(apigw, api_id, exportType="oas30", parameters={"extensions": "apigateway"})
    assert document["x-amazon-apigateway-api-key-source"] == "HEADER"
    assert "x-amazon-apigateway-integration" in operations(document)[("/cities", "GET")]


def test_yaml_and_swagger(apigw: Any) -> None:
    api_id, _ = ensure_demo_api(apigw)

    as_yaml, answer = export(apigw, api_id, exportType="oas30", accepts="application/yaml")
    as_json, _ = export(apigw, api_id, exportType="oas30", accepts="application/json")
    assert answer["contentType"] == "application/octet-stream"
    assert answer["contentDisposition"].endswith('.yaml"')
    assert as_yaml == as_json

    swagger, answer = export(apigw, api_id, exportType="swagger", accepts="application/json")
    assert swagger["swagger"] == "2.0"
    assert swagger["host"] == f"{api_id}.execute-api.us-east-1.amazonaws.com"
    assert swagger["basePath"] == "/prod"
    assert swagger["securityDefinitions"]["api_key"]["in"] == "header"
    assert operations(swagger)[("/forecast/{city}", "GET")]["responses"]["200"]["schema"] == {
        "$ref": "#/definitions/Forecast"
    }
    assert answer["contentDisposition"].startswith('attachment; filename="swagger_')


def test_the_export_is_the_deployment_not_the_draft(apigw: Any) -> None:
    """API Gateway exports what was deployed to the stage; undeployed edits stay out."""
    api_id, stage = ensure_demo_api(apigw)
    root = next(r for r in apigw.get_resources(restApiId=api_id)["items"] if r["path"] == "/")
    alerts = apigw.create_resource(restApiId=api_id, parentId=root["id"], pathPart="alerts")
    where = {"restApiId": api_id, "resourceId": alerts["id"], "httpMethod": "GET"}
    apigw.put_method(**where, authorizationType="NONE", apiKeyRequired=True)
    apigw.put_method_response(**where, statusCode="200")
    apigw.put_integration(**where, type="MOCK")

    document, _ = export(apigw, api_id, exportType="oas30")
    assert "/alerts" not in document["paths"]

    first_version = document["info"]["version"]
    deployment = apigw.create_deployment(restApiId=api_id, description="alerts")
    # Not on the stage yet: still the old deployment.
    assert "/alerts" not in export(apigw, api_id, exportType="oas30")[0]["paths"]

    apigw.update_stage(
        restApiId=api_id,
        stageName=stage,
        patchOperations=[{"op": "replace", "path": "/deploymentId", "value": deployment["id"]}],
    )
    document, _ = export(apigw, api_id, exportType="oas30")
    assert operations(document)[("/alerts", "GET")]["security"] == [{"api_key": []}]
    assert document["info"]["version"] >= first_version


@pytest.mark.parametrize(
    ("api", "stage", "export_type", "status", "code"),
    [
        ("missing", "prod", "oas30", 404, "NotFoundException"),
        (None, "staging", "oas30", 404, "NotFoundException"),
        (None, "prod", "postman", 400, "BadRequestException"),
    ],
)
def test_errors_as_aws_says_them(
    apigw: Any, api: str | None, stage: str, export_type: str, status: int, code: str
) -> None:
    api_id, _ = ensure_demo_api(apigw)
    with pytest.raises(ClientError) as caught:
        apigw.get_export(restApiId=api or api_id, stageName=stage, exportType=export_type)
    assert caught.value.response["Error"]["Code"] == code
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == status


def test_an_unknown_api_is_named_as_an_unknown_stage(apigw_no_retry: Any) -> None:
    """As moto words it (its export maps a missing API to the stage error on purpose)."""
    with pytest.raises(ClientError) as caught:
        apigw_no_retry.get_export(restApiId="nosuchapi", stageName="prod", exportType="oas30")
    assert caught.value.response["Error"]["Message"] == "Invalid stage identifier specified"
