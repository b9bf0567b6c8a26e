"""The demo API is created once and looks like a real key-protected REST API."""

from __future__ import annotations

import json
from typing import Any

import pytest

from localaws.demo_api import DEMO_API_DESCRIPTION, DEMO_API_NAME, DEMO_DOMAIN, ensure_demo_api

pytestmark = pytest.mark.integration


def test_demo_api_is_idempotent(apigw: Any) -> None:
    first = ensure_demo_api(apigw)
    second = ensure_demo_api(apigw)

    assert first == second
    apis = apigw.get_rest_apis()["items"]
    assert [(a["name"], a["description"]) for a in apis] == [(DEMO_API_NAME, DEMO_API_DESCRIPTION)]


def test_demo_api_stage_and_methods(apigw: Any) -> None:
    api_id, stage = ensure_demo_api(apigw)

    stages = apigw.get_stages(restApiId=api_id)["item"]
    assert [s["stageName"] for s in stages] == [stage] == ["prod"]
    assert apigw.get_stage(restApiId=api_id, stageName="prod")["deploymentId"]

    resources = {
        r["path"]: r for r in apigw.get_resources(restApiId=api_id, embed=["methods"])["items"]
    }
    assert {"/forecast", "/forecast/{city}", "/geocode", "/status"} <= set(resources)
    key_required = {
        (path, method): apigw.get_method(
            restApiId=api_id, resourceId=resources[path]["id"], httpMethod=method
        )["apiKeyRequired"]
        for path, method in [
            ("/forecast", "GET"),
            ("/forecast/{city}", "GET"),
            ("/geocode", "GET"),
            ("/geocode", "POST"),
            ("/status", "GET"),
        ]
    }
    assert key_required == {
        ("/forecast", "GET"): True,
        ("/forecast/{city}", "GET"): True,
        ("/geocode", "GET"): True,
        ("/geocode", "POST"): True,
        ("/status", "GET"): False,
    }


def test_every_method_mocks_its_documented_example(apigw: Any) -> None:
    """MOCK integrations: the request template picks 200, whose default integration response
    answers an example of the method's response model (what the local gateway returns)."""
    api_id, _ = ensure_demo_api(apigw)
    resources = {r["path"]: r["id"] for r in apigw.get_resources(restApiId=api_id)["items"]}

    def mock(path: str, method: str) -> tuple[dict[str, Any], Any]:
        integration = apigw.get_integration(
            restApiId=api_id, resourceId=resources[path], httpMethod=method
        )
        assert integration["type"] == "MOCK"
        assert integration["requestTemplates"] == {"application/json": '{"statusCode": 200}'}
        response = integration["integrationResponses"]["200"]
        assert not response.get("selectionPattern")  # the default response
        return integration, json.loads(response["responseTemplates"]["application/json"])

    _, forecast = mock("/forecast", "GET")
    assert forecast["city"] == "Lisbon"
    assert {"date", "summary", "highC", "lowC"} <= set(forecast["days"][0])
    assert mock("/forecast/{city}", "GET")[1] == forecast
    assert mock("/cities", "GET")[1]["cities"][:2] == ["Berlin", "Lisbon"]
    assert mock("/geocode", "GET")[1]["results"][0]["name"] == "Lisbon, Portugal"
    assert len(mock("/geocode", "POST")[1]["results"]) == 2
    assert mock("/status", "GET")[1] == {"status": "ok", "version": "2024.05"}


def test_the_stage_is_published_at_a_custom_domain_once(apigw: Any) -> None:
    api_id, stage = ensure_demo_api(apigw)
    ensure_demo_api(apigw)

    domains = apigw.get_domain_names()["items"]
    assert [(d["domainName"], d["endpointConfiguration"]["types"]) for d in domains] == [
        (DEMO_DOMAIN, ["REGIONAL"])
    ]
    assert domains[0]["regionalCertificateArn"].startswith("arn:aws:acm:us-east-1:")
    mappings = apigw.get_base_path_mappings(domainName=DEMO_DOMAIN)["items"]
    assert [(m["basePath"], m["restApiId"], m["stage"]) for m in mappings] == [
        ("v1", api_id, stage)
    ]
