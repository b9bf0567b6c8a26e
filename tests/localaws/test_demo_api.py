"""The demo API is created once and looks like a real key-protected REST API."""

from __future__ import annotations

from typing import Any

import pytest

from localaws.demo_api import DEMO_API_DESCRIPTION, DEMO_API_NAME, ensure_demo_api

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
